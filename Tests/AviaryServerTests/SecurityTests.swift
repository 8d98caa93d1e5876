import AviaryAPI
import AviaryLocal
import AviaryStore
import AviaryTestSupport
import Foundation
import Hummingbird
import NIOHTTP1
import Testing

@testable import AviaryServer

/// The security rules of issue #11 that need no daemon: loopback detection, the token
/// comparison, the state directory's mode, and the API's request decoding.
@Suite struct SecurityRuleTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.8.9.10", true), ("localhost", true), ("::1", true),
        ("0.0.0.0", false), ("10.0.0.1", false), ("::", false), ("127.example.com", false), ("127.0.0.1.", false),
        ("", false),
    ])
    func loopbackAddresses(host: String, isLoopback: Bool) {
        #expect(ServerConfiguration.isLoopback(host) == isLoopback)
    }

    @Test func theAPIListensOnLoopbackByDefault() throws {
        #expect(ServerConfiguration().host == "127.0.0.1")
        let help = try runCommand([builtProductsDirectory() + "/aviary", "serve", "--help"])
        let words = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("--listen <listen> The API's address, HOST:PORT. (default: 127.0.0.1:7480)"), "\(words)")
    }

    @Test(arguments: [
        ("Bearer s3cret", "Bearer s3cret", true), ("Bearer s3cret", "Bearer s3creT", false),
        ("Bearer s3cret", "Bearer s3cre", false), ("Bearer s3cre", "Bearer s3cret", false), ("", "", true),
        ("", "Bearer x", false), ("Bearer ü", "Bearer ü", true), ("Bearer u\u{308}", "Bearer ü", false),
    ])
    func tokenComparison(header: String, expected: String, equal: Bool) {
        // The comparison runs over every byte (no early exit); only its result is tested here.
        #expect(APIRequestDecoding.constantTimeEqual(header, expected) == equal)
    }

    @Test func aLooseStateDirectoryIsWarnedAboutAndANewOneIs0700() throws {
        let directory = NSTemporaryDirectory() + "aviary-mode-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try AviaryStore(stateDirectory: directory)
        let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(ServerConfiguration.stateDirectoryWarning(directory) == nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let warning = try #require(ServerConfiguration.stateDirectoryWarning(directory))
        #expect(warning.contains("mode 755") && warning.contains("chmod 700 \(directory)"))
        // Opening it again leaves the mode alone: the directory may be shared on purpose.
        _ = try AviaryStore(stateDirectory: directory)
        #expect(try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int == 0o755)
    }

    @Test(arguments: [
        ("promote", [String: String](), RolloutOperation.promote(full: false)),
        ("promote", ["full": "true"], .promote(full: true)),
        ("restart", ["inSeconds": "2.5"], .restart(inSeconds: 2.5)),
        ("undo", ["toRevision": "3"], .undo(toRevision: 3)), ("abort", [:], .abort),
    ])
    func operations(name: String, query: [String: String], operation: RolloutOperation) throws {
        #expect(try APIRequestDecoding.operation(name, query: { query[$0] }, body: Data()) == operation)
    }

    @Test(arguments: [
        ("restart", ["inSeconds": "nan"], "", 400), ("restart", ["inSeconds": "-1"], "", 400),
        ("restart", ["inSeconds": "inf"], "", 400), ("undo", ["toRevision": "-1"], "", 400),
        ("undo", ["toRevision": "99999999999999999999"], "", 400), ("image", [:], #"{"container": "a"}"#, 400),
        ("image", [:], #"{"container": "a", "image": ""}"#, 400), ("image", [:], "[1]", 400),
        ("image", [:], "\u{0}", 400), ("<script>", [:], "", 404),
    ])
    func badOperations(name: String, query: [String: String], body: String, status: Int) {
        #expect(throws: APIError.self) {
            try APIRequestDecoding.operation(name, query: { query[$0] }, body: Data(body.utf8))
        }
        do {
            _ = try APIRequestDecoding.operation(name, query: { query[$0] }, body: Data(body.utf8))
        } catch {
            #expect(error.status == status)
        }
    }
}

/// `aviary serve` with hostile input and a secret: nothing from a request comes back as HTML,
/// and a secret used by an analysis is in no log, event, API answer or CLI output.
@Suite(.serialized) struct SecurityEndToEndTests {
    @Test func requestDataComesBackOnlyAsEscapedJSON() async throws {
        try await withRoutesInProcess { api in
            let script = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            for (method, path) in [
                (HTTPRequest.Method.get, "/api/v1/rollouts/\(script)"), (.get, "/api/v1/\(script)"),
                (.get, "/api/v1/\(script)/x"), (.post, "/api/v1/rollouts/\(script)/promote"),
                (.post, "/api/v1/rollouts/web/\(script)"), (.get, "/api/v1/pods/\(script)/logs"),
                (.get, "/\(script)"), (.delete, "/api/v1/services/\(script)?namespace=\(script)"),
                (.get, "/api/v1/watch/rollouts/\(script)"),
            ] {
                let answer = try await api.call(method, path)
                #expect((400..<500).contains(answer.status), "\(method) \(path): \(answer.status)")
                #expect(answer.contentType == "application/json", "\(method) \(path): \(answer.contentType ?? "")")
                #expect(answer.noSniff, "\(method) \(path)")
                #expect(!answer.text.contains("<script>"), "\(method) \(path): \(answer.text)")
                // The JSON still says what was asked for, escaped.
                #expect(try answer.decode(ErrorBody.self).error.contains("script"), "\(method) \(path): \(answer.text)")
            }
        }
    }

    /// The secret comes from secrets.yaml in the state directory, or from an applied Secret.
    @Test(arguments: [false, true])
    func aSecretUsedByAnAnalysisIsRedactedEverywhere(applied: Bool) async throws {
        let secret = "sekrit-\(UUID().uuidString)"
        let daemon = Daemon()
        try FileManager.default.createDirectory(atPath: daemon.stateDirectory, withIntermediateDirectories: true)
        var secretManifest = ""
        if applied {
            // secrets.yaml holds a wrong value under the same name: the applied Secret wins.
            secretManifest = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-auth}\nstringData: {token: \"\(secret)\"}\n---\n"
            try "web-auth:\n  token: wrong\n".write(
                toFile: daemon.stateDirectory + "/secrets.yaml", atomically: true, encoding: .utf8)
        } else {
            try "web-auth:\n  token: \"\(secret)\"\n".write(
                toFile: daemon.stateDirectory + "/secrets.yaml", atomically: true, encoding: .utf8)
        }
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.steps = """
                            - setWeight: 25
                            - analysis:
                                templates:
                                  - templateName: with-secret
                                dryRun:
                                  - metricName: leaky
                            - pause: {}
                """
            let closedPort = PortAllocator.freePort() ?? 1
            // `authorized` sends the secret to the sample app, whose /headers answers it back:
            // the measured value holds it. `leaky` fails with the secret in its URL.
            let template = """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisTemplate
                metadata:
                  name: with-secret
                spec:
                  args:
                    - name: token
                      valueFrom:
                        secretKeyRef: {name: web-auth, key: token}
                  metrics:
                    - name: authorized
                      successCondition: result startsWith "Bearer sekrit-"
                      provider:
                        web:
                          url: http://127.0.0.1:\(manifests.canaryPort)/headers
                          headers:
                            - key: Authorization
                              value: "Bearer {{args.token}}"
                          jsonPath: "{$.authorization}"
                    - name: leaky
                      consecutiveErrorLimit: 0
                      provider:
                        web:
                          url: http://127.0.0.1:\(closedPort)/{{args.token}}
                """
            try daemon.applyWithCLI(secretManifest + template + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 2))

            let runs = try #require(await daemon.call(.GET, "/api/v1/analysisruns"))
            let run = try #require((runs.json["items"] as? [[String: Any]])?.first)
            let name = try #require((run["metadata"] as? [String: Any])?["name"] as? String)
            let status = run["status"] as? [String: Any]
            // Successful proves the secret was resolved and sent.
            #expect(status?["phase"] as? String == "Successful", "\(runs.text)")
            var outputs: [(String, String)] = [("API analysisruns", runs.text)]
            for path in ["/api/v1/analysisruns/\(name)", "/api/v1/rollouts/web/events", "/api/v1/rollouts/web"] {
                outputs.append((path, (await daemon.call(.GET, path))?.text ?? ""))
            }
            let cli = try daemon.cli(["get", "analysisrun", name])
            #expect(cli.status == 0, "\(cli.output)")
            #expect(cli.output.contains("*****"), "\(cli.output)")
            outputs.append(("aviary get analysisrun", cli.output))
            // The daemon's log, the router's log and the database (which keeps an applied Secret as
            // base64, as etcd does): every file but the inputs, secrets.yaml and the manifests.
            let files = FileManager.default.enumerator(atPath: daemon.stateDirectory)?.allObjects as? [String] ?? []
            for file in files
            where !file.hasSuffix("secrets.yaml") && !file.hasPrefix("logs/web-") && !file.hasPrefix("manifests-") {
                let data = FileManager.default.contents(atPath: daemon.stateDirectory + "/" + file) ?? Data()
                outputs.append((file, String(decoding: data, as: UTF8.self)))
            }
            #expect(outputs.contains { $0.0.hasPrefix("serve-") })
            for (source, text) in outputs {
                #expect(!text.contains(secret), "the secret is in \(source)")
            }
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
