import Foundation
import Synchronization

/// Where a call to an AWS service goes and whose key signs it, found as the AWS SDK for Go v2's
/// `LoadDefaultConfig` (which Argo uses) finds them, for what runs without AWS's instance metadata:
/// - credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`), else
///   a web identity (`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, as EKS's IAM roles for
///   service accounts set them: STS's `AssumeRoleWithWebIdentity` gives temporary keys), else the
///   profile (`AWS_PROFILE`, or `default`) of the shared credentials file
///   (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`), else of the shared config file;
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region` in the config file
///   (`AWS_CONFIG_FILE`, or `~/.aws/config`);
/// - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, else the service's regional one.
struct AWSConfiguration: Sendable, Equatable {
    var credentials: AWSCredentials
    var region: String
    var endpoint: String
    /// The role to assume with a web identity token; `credentials` are then STS's (`signing()`).
    var webIdentity: WebIdentity?

    /// A role assumed with the token of a file (EKS's IAM roles for service accounts).
    struct WebIdentity: Sendable, Equatable {
        var roleARN: String
        var tokenFile: String
        var sessionName: String
        /// STS: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, else the region's.
        var endpoint: String
    }

    /// Why no configuration was found, with what to set.
    struct Missing: Error, Sendable, Equatable, CustomStringConvertible {
        var description: String
    }

    /// `service` is the endpoint prefix (`monitoring`), `serviceID` the SDK's name (`CloudWatch`)
    /// whose upper-cased form names the endpoint variable. `readFile` reads a file's text (nil:
    /// none); tests give the files.
    static func resolve(
        service: String, serviceID: String, environment: [String: String],
        readFile: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
    ) throws(Missing) -> AWSConfiguration {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = variable("HOME") ?? NSHomeDirectory()
        let profile = variable("AWS_PROFILE") ?? "default"
        let credentialsPath = variable("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        let configPath = variable("AWS_CONFIG_FILE") ?? home + "/.aws/config"
        let credentialsFile = readFile(credentialsPath).map(parseINI)?[profile] ?? [:]
        let configFile =
            readFile(configPath).map(parseINI)?[profile == "default" ? "default" : "profile " + profile] ?? [:]

        let credentials: AWSCredentials
        var webIdentity: WebIdentity?
        if let key = variable("AWS_ACCESS_KEY_ID"), let secret = variable("AWS_SECRET_ACCESS_KEY") {
            credentials = AWSCredentials(
                accessKeyID: key, secretAccessKey: secret, sessionToken: variable("AWS_SESSION_TOKEN"))
        } else if let role = variable("AWS_ROLE_ARN"), let tokenFile = variable("AWS_WEB_IDENTITY_TOKEN_FILE") {
            credentials = AWSCredentials(accessKeyID: "", secretAccessKey: "")
            // The STS endpoint is filled in once the region is known.
            webIdentity = WebIdentity(
                roleARN: role, tokenFile: tokenFile,
                sessionName: variable("AWS_ROLE_SESSION_NAME") ?? "aviary-\(Int(Date().timeIntervalSince1970))",
                endpoint: "")
        } else if let found = fileCredentials(credentialsFile) ?? fileCredentials(configFile) {
            credentials = found
        } else {
            throw Missing(
                description: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                    + "AWS_SESSION_TOKEN for temporary ones) in the controller's environment, or give the profile "
                    + "\"\(profile)\" aws_access_key_id and aws_secret_access_key in \(credentialsPath), or give "
                    + "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IAM roles for service accounts); Aviary does not "
                    + "read EC2 instance roles")
        }
        guard let region = variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION") ?? configFile["region"] else {
            throw Missing(
                description: "no AWS region: set AWS_REGION in the controller's environment (as Argo's CloudWatch "
                    + "setup says), or region in the profile \"\(profile)\" of \(configPath)")
        }
        if webIdentity != nil {
            webIdentity?.endpoint =
                variable("AWS_ENDPOINT_URL_STS") ?? variable("AWS_ENDPOINT_URL")
                ?? "https://sts.\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
        }
        let endpointVariable = "AWS_ENDPOINT_URL_" + serviceID.uppercased().replacingOccurrences(of: " ", with: "_")
        let endpoint =
            variable(endpointVariable) ?? variable("AWS_ENDPOINT_URL")
            ?? "https://\(service).\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
        return AWSConfiguration(credentials: credentials, region: region, endpoint: endpoint, webIdentity: webIdentity)
    }

    /// The configuration with keys to sign with: its own, or, for a web identity, the temporary
    /// keys STS's `AssumeRoleWithWebIdentity` gives for the token file's token (kept until five
    /// minutes before they expire; the token file is read again at each refresh, as EKS rotates it).
    func signing(now: Date = Date()) async throws(Missing) -> AWSConfiguration {
        guard let identity = webIdentity else { return self }
        let key = "\(identity.endpoint)|\(identity.roleARN)|\(identity.tokenFile)"
        if let cached = Self.assumed.withLock({ $0[key] }), cached.expiration > now.addingTimeInterval(300) {
            var configuration = self
            configuration.credentials = cached.credentials
            return configuration
        }
        guard let token = try? String(contentsOfFile: identity.tokenFile, encoding: .utf8) else {
            throw Missing(
                description: "cannot read the web identity token file \(identity.tokenFile) "
                    + "(AWS_WEB_IDENTITY_TOKEN_FILE); "
                    + "mount the service account token there, or unset AWS_ROLE_ARN to use keys")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", identity.roleARN),
            ("RoleSessionName", identity.sessionName),
            ("WebIdentityToken", token.trimmingCharacters(in: .whitespacesAndNewlines)),
        ]
        let body = AWSSignatureV4.form(form)
        let operation = "operation error STS: AssumeRoleWithWebIdentity"
        let response: MetricHTTPResponse
        do {
            let url = identity.endpoint + (URLComponents(string: identity.endpoint)?.path.isEmpty == false ? "" : "/")
            response = try await MetricHTTP.send(
                MetricHTTPRequest(
                    method: .POST, url: url,
                    headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body,
                    timeout: .seconds(30)))
        } catch {
            throw Missing(
                description: "\(operation), https response error StatusCode: 0, request send failed, \(error)")
        }
        let document = AWSXMLElement.parse(response.body)
        guard response.status == 200,
            let found = document?.child("AssumeRoleWithWebIdentityResult")?.child("Credentials"),
            let accessKey = found.text(of: "AccessKeyId"), let secret = found.text(of: "SecretAccessKey")
        else {
            let error = document?.child("Error")
            throw Missing(
                description: "\(operation), https response error StatusCode: \(response.status), RequestID: "
                    + "\(document?.text(of: "RequestId") ?? ""), \(error?.text(of: "Code") ?? "UnknownError"): "
                    + (error?.text(of: "Message") ?? String(decoding: response.body.prefix(300), as: UTF8.self)))
        }
        let credentials = AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: found.text(of: "SessionToken"))
        let expiration =
            found.text(of: "Expiration").flatMap { ISO8601DateFormatter().date(from: $0) }
            ?? now.addingTimeInterval(900)
        Self.assumed.withLock { $0[key] = (credentials, expiration) }
        var configuration = self
        configuration.credentials = credentials
        return configuration
    }

    /// Keys STS gave, by endpoint, role and token file, with when they expire.
    private static let assumed = Mutex<[String: (credentials: AWSCredentials, expiration: Date)]>([:])

    private static func fileCredentials(_ section: [String: String]) -> AWSCredentials? {
        guard let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
    }

    /// The sections of an INI file (`[name]`, `key = value`; `#` and `;` start comments).
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current, default: [:]][key] = value
        }
        return sections
    }
}
