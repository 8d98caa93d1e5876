import Foundation
import Synchronization

/// Credentials that could not be obtained; `reason` names the plugin or file and the cause.
struct CredentialFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Produces the Authorization header of each request, caching what is expensive to obtain: a token file is
/// re-read at most once a minute (service-account tokens rotate), an exec plugin is run again only when its
/// credential expires or the server answered 401.
final class CredentialProvider: Sendable {
    private struct Cached {
        var header: String
        var validUntil: ContinuousClock.Instant
    }

    private let credentials: ClientConfiguration.Credentials
    private let server: String
    private let cache = Mutex<Cached?>(nil)

    init(credentials: ClientConfiguration.Credentials, server: String) {
        self.credentials = credentials
        self.server = server
    }

    /// The header value, or nil for none.
    func authorization() async throws(CredentialFailure) -> String? {
        switch credentials {
        case .none: return nil
        case .token(let token): return "Bearer \(token)"
        case .basic(let username, let password):
            return "Basic \(Data("\(username):\(password)".utf8).base64EncodedString())"
        case .tokenFile(let file):
            if let cached = cache.withLock({ $0 }), ContinuousClock.now < cached.validUntil { return cached.header }
            let token: String
            do {
                token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            } catch {
                throw CredentialFailure("token file \(file) cannot be read (\(oneLine(error.localizedDescription)))")
            }
            let header = "Bearer \(token)"
            cache.withLock { $0 = Cached(header: header, validUntil: .now + .seconds(60)) }
            return header
        case .exec(let exec, let user):
            if let cached = cache.withLock({ $0 }), ContinuousClock.now < cached.validUntil { return cached.header }
            let credential = try await ExecPlugin.run(exec, user: user, server: server)
            let header = "Bearer \(credential.token)"
            // A credential without an expiry is used until the server rejects it.
            let lifetime = credential.expiresIn.map { max(0, $0 - 10) } ?? 365 * 86400
            cache.withLock { $0 = Cached(header: header, validUntil: .now + .seconds(lifetime)) }
            return header
        }
    }

    /// Forgets a cached credential after a 401, so the next request obtains a fresh one; returns whether a
    /// retry can bring a different credential.
    func invalidate() -> Bool {
        switch credentials {
        case .exec, .tokenFile:
            cache.withLock { $0 = nil }
            return true
        case .none, .token, .basic:
            return false
        }
    }
}

/// Runs a kubeconfig `user.exec` plugin and reads the `ExecCredential` it prints on stdout.
enum ExecPlugin {
    struct Credential {
        var token: String
        /// Seconds until `status.expirationTimestamp`, nil when the credential does not expire.
        var expiresIn: Double?
    }

    private struct ExecCredential: Decodable {
        struct CredentialStatus: Decodable {
            var token: String?
            var clientCertificateData: String?
            var expirationTimestamp: String?
        }
        var status: CredentialStatus?
    }

    static func run(_ exec: ExecConfig, user: String, server: String) async throws(CredentialFailure) -> Credential {
        let apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1"
        var environment = ProcessInfo.processInfo.environment
        for variable in exec.env ?? [] { environment[variable.name] = variable.value }
        environment["KUBERNETES_EXEC_INFO"] =
            #"{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        let hint = exec.installHint.map { " (\(oneLine($0)))" } ?? ""
        let outcome = await Task.detached { [environment] in ExecPlugin.runToEnd(exec, environment: environment) }.value
        let (terminationStatus, stdout, stderr): (Int32, Data, Data)
        switch outcome {
        case .success(let finished): (terminationStatus, stdout, stderr) = finished
        case .failure(let error):
            throw CredentialFailure(
                "exec plugin \(exec.command) of \(user) cannot start\(hint): \(oneLine(error.localizedDescription))")
        }
        guard terminationStatus == 0 else {
            let message = oneLine(String(decoding: stderr, as: UTF8.self))
            throw CredentialFailure(
                "exec plugin \(exec.command) of \(user) exited with status \(terminationStatus)\(hint): \(message)")
        }
        guard let credential = try? JSONDecoder().decode(ExecCredential.self, from: stdout),
            let token = credential.status?.token, !token.isEmpty
        else {
            if (try? JSONDecoder().decode(ExecCredential.self, from: stdout))?.status?.clientCertificateData != nil {
                throw CredentialFailure(
                    "exec plugin \(exec.command) of \(user) returned a client certificate; Aviary supports exec tokens only, use client-certificate-data in the kubeconfig instead"
                )
            }
            throw CredentialFailure(
                "exec plugin \(exec.command) of \(user) printed no ExecCredential with status.token on stdout")
        }
        var expiresIn: Double?
        if let expiry = credential.status?.expirationTimestamp {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            if let date = formatter.date(from: expiry) ?? plain.date(from: expiry) {
                expiresIn = date.timeIntervalSinceNow
            }
        }
        return Credential(token: token, expiresIn: expiresIn)
    }

    /// Runs the plugin to its end on the current thread: stdout through a pipe, stderr into a temporary file
    /// (so that neither can fill up and stall the plugin while the other is read).
    private static func runToEnd(
        _ exec: ExecConfig, environment: [String: String]
    ) -> Result<(Int32, Data, Data), any Error> {
        let process = Process()
        if exec.command.contains("/") {
            process.executableURL = URL(fileURLWithPath: exec.command)
            process.arguments = exec.args ?? []
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [exec.command] + (exec.args ?? [])
        }
        process.environment = environment
        let output = Pipe()
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "aviary-exec-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        do {
            let errorHandle = try FileHandle(forWritingTo: errorFile)
            defer { try? errorHandle.close() }
            process.standardOutput = output
            process.standardError = errorHandle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let stdout = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let stderr = (try? Data(contentsOf: errorFile)) ?? Data()
            return .success((process.terminationStatus, stdout, stderr))
        } catch {
            return .failure(error)
        }
    }
}
