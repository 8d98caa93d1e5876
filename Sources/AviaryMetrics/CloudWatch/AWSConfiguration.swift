import Foundation
import NIOHTTP1
import Synchronization

/// Where a call to an AWS service goes and whose key signs it, found as the AWS SDK for Go v2's
/// `LoadDefaultConfig` (which Argo uses) finds them:
/// - credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`), else
///   a web identity (`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, as EKS's IAM roles for
///   service accounts set them: STS's `AssumeRoleWithWebIdentity` gives temporary keys), else the
///   profile (`AWS_PROFILE`, or `default`) of the shared credentials file
///   (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`), else of the shared config file,
///   else the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
///   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, as EKS Pod Identity sets them, or ECS's
///   `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), else the EC2 instance role from the instance
///   metadata service (IMDSv2; `AWS_EC2_METADATA_SERVICE_ENDPOINT`, unless
///   `AWS_EC2_METADATA_DISABLED=true`);
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region` in the config file
///   (`AWS_CONFIG_FILE`, or `~/.aws/config`);
/// - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, else the service's regional one.
struct AWSConfiguration: Sendable, Equatable {
    var credentials: AWSCredentials
    var region: String
    var endpoint: String
    /// The role to assume with a web identity token; `credentials` are then STS's (`signing()`).
    var webIdentity: WebIdentity?
    /// Where temporary keys are fetched from instead (`signing()`): a container endpoint or IMDS.
    var remote: RemoteCredentials?

    /// Temporary keys served over HTTP, as JSON (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`).
    enum RemoteCredentials: Sendable, Equatable {
        /// ECS's or EKS Pod Identity's endpoint, with the `Authorization` value (or the file holding it).
        case container(url: String, authorization: String?, authorizationFile: String?)
        /// The EC2 instance metadata service's base address; `hint` says what else could be set.
        case instanceMetadata(endpoint: String, hint: String)
    }

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
        var remote: RemoteCredentials?
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
            credentials = AWSCredentials(accessKeyID: "", secretAccessKey: "")
            let hint =
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) in the "
                + "controller's environment, or give the profile \"\(profile)\" aws_access_key_id and "
                + "aws_secret_access_key in \(credentialsPath), or give AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE "
                + "(IAM roles for service accounts), or run where EKS Pod Identity, ECS or an EC2 instance role "
                + "provides them"
            if let full = variable("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
                remote = .container(
                    url: full, authorization: variable("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                    authorizationFile: variable("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
            } else if let relative = variable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
                remote = .container(
                    url: "http://169.254.170.2" + relative,
                    authorization: variable("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                    authorizationFile: variable("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
            } else if variable("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" {
                remote = .instanceMetadata(
                    endpoint: variable("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254", hint: hint)
            } else {
                throw Missing(description: "no AWS credentials: " + hint + " (AWS_EC2_METADATA_DISABLED is true)")
            }
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
        return AWSConfiguration(
            credentials: credentials, region: region, endpoint: endpoint, webIdentity: webIdentity, remote: remote)
    }

    /// The configuration with keys to sign with: its own, or, for a web identity, the temporary
    /// keys STS's `AssumeRoleWithWebIdentity` gives for the token file's token (kept until five
    /// minutes before they expire; the token file is read again at each refresh, as EKS rotates it).
    func signing(now: Date = Date()) async throws(Missing) -> AWSConfiguration {
        if let remote { return try await fetched(remote, now: now) }
        guard let identity = webIdentity else { return self }
        return try await withTemporaryKeys(
            cachedAs: "\(identity.endpoint)|\(identity.roleARN)|\(identity.tokenFile)", now: now
        ) { () async throws(Missing) in try await Self.assumeRole(identity, now: now) }
    }

    /// STS's `AssumeRoleWithWebIdentity` for the token file's token: the keys and when they expire.
    private static func assumeRole(
        _ identity: WebIdentity, now: Date
    ) async throws(Missing) -> (AWSCredentials, Date) {
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
        return (credentials, expiration(found.text(of: "Expiration"), now: now))
    }

    /// This configuration signed with temporary keys: those kept under `key` until five minutes
    /// before they expire, else what `fetch` gets (then kept).
    private func withTemporaryKeys(
        cachedAs key: String, now: Date, fetch: () async throws(Missing) -> (AWSCredentials, Date)
    ) async throws(Missing) -> AWSConfiguration {
        var configuration = self
        if let cached = Self.assumed.withLock({ $0[key] }), cached.expiration > now.addingTimeInterval(300) {
            configuration.credentials = cached.credentials
            return configuration
        }
        let (credentials, expiration) = try await fetch()
        Self.assumed.withLock { $0[key] = (credentials, expiration) }
        configuration.credentials = credentials
        return configuration
    }

    /// An `Expiration` in RFC 3339, or 15 minutes from `now` when there is none.
    private static func expiration(_ text: String?, now: Date) -> Date {
        text.flatMap { ISO8601DateFormatter().date(from: $0) } ?? now.addingTimeInterval(900)
    }

    /// The configuration signed with the temporary keys `remote` serves (kept as STS's are).
    private func fetched(_ remote: RemoteCredentials, now: Date) async throws(Missing) -> AWSConfiguration {
        let key: String
        switch remote {
        case .container(let url, _, _): key = "container|" + url
        case .instanceMetadata(let endpoint, _): key = "imds|" + endpoint
        }
        return try await withTemporaryKeys(cachedAs: key, now: now) { () async throws(Missing) in
            let document: [String: Any]
            switch remote {
            case .container(let url, let authorization, let authorizationFile):
                document = try await Self.containerCredentials(
                    url: url, authorization: authorization, authorizationFile: authorizationFile)
            case .instanceMetadata(let endpoint, let hint):
                document = try await Self.instanceRoleCredentials(endpoint: endpoint, hint: hint)
            }
            guard let accessKey = document["AccessKeyId"] as? String,
                let secret = document["SecretAccessKey"] as? String
            else {
                throw Missing(
                    description: "the AWS credentials endpoint answered without AccessKeyId and SecretAccessKey")
            }
            let credentials = AWSCredentials(
                accessKeyID: accessKey, secretAccessKey: secret, sessionToken: document["Token"] as? String)
            return (credentials, Self.expiration(document["Expiration"] as? String, now: now))
        }
    }

    /// ECS's and EKS Pod Identity's endpoint: a GET with the token as `Authorization`.
    private static func containerCredentials(
        url: String, authorization: String?, authorizationFile: String?
    ) async throws(Missing) -> [String: Any] {
        var token = authorization
        if let authorizationFile {
            guard let text = try? String(contentsOfFile: authorizationFile, encoding: .utf8) else {
                throw Missing(
                    description: "cannot read the container credentials token file \(authorizationFile) "
                        + "(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return try await credentialsDocument(
            MetricHTTPRequest(
                method: .GET, url: url, headers: token.map { [("Authorization", $0)] } ?? [], timeout: .seconds(5)),
            operation: "failed to refresh cached credentials, failed to load credentials from \(url)")
    }

    /// IMDSv2: a session token (PUT), the instance role's name, then its keys.
    private static func instanceRoleCredentials(endpoint: String, hint: String) async throws(Missing) -> [String: Any] {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let failure = "no AWS credentials: no EC2 instance role found at \(base) (instance metadata)"
        func get(
            _ path: String, _ headers: [(String, String)], method: HTTPMethod = .GET
        ) async throws(Missing) -> Data {
            let response: MetricHTTPResponse
            do {
                // Off EC2 nothing answers: a short timeout, as the SDK's.
                response = try await MetricHTTP.send(
                    MetricHTTPRequest(method: method, url: base + path, headers: headers, timeout: .seconds(2)))
            } catch {
                throw Missing(description: "\(failure), \(error); \(hint)")
            }
            guard response.status == 200 else {
                throw Missing(description: "\(failure), \(path) answered \(response.status); \(hint)")
            }
            return response.body
        }
        let ttl = [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]
        let token = String(decoding: try await get("/latest/api/token", ttl, method: .PUT), as: UTF8.self)
        let session = [("X-aws-ec2-metadata-token", token)]
        let roles = String(
            decoding: try await get("/latest/meta-data/iam/security-credentials/", session), as: UTF8.self)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw Missing(description: "\(failure): the instance has no IAM role; \(hint)")
        }
        let body = try await get("/latest/meta-data/iam/security-credentials/" + role, session)
        guard let document = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw Missing(description: "\(failure): the role's credentials are not JSON")
        }
        return document
    }

    /// A credentials document fetched with `request`.
    private static func credentialsDocument(
        _ request: MetricHTTPRequest, operation: String
    ) async throws(Missing) -> [String: Any] {
        let response: MetricHTTPResponse
        do {
            response = try await MetricHTTP.send(request)
        } catch {
            throw Missing(description: "\(operation), \(error)")
        }
        guard response.status == 200,
            let document = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        else {
            throw Missing(
                description: "\(operation), StatusCode: \(response.status), "
                    + String(decoding: response.body.prefix(300), as: UTF8.self))
        }
        return document
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
