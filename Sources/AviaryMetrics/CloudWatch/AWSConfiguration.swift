import Foundation

/// Where a call to an AWS service goes and whose key signs it, found as the AWS SDK for Go v2's
/// `LoadDefaultConfig` (which Argo uses) finds them, for what runs without AWS's instance metadata:
/// - credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`), else
///   the profile (`AWS_PROFILE`, or `default`) of the shared credentials file
///   (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`), else of the shared config file;
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region` in the config file
///   (`AWS_CONFIG_FILE`, or `~/.aws/config`);
/// - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, else the service's regional one.
struct AWSConfiguration: Sendable, Equatable {
    var credentials: AWSCredentials
    var region: String
    var endpoint: String

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
        if let key = variable("AWS_ACCESS_KEY_ID"), let secret = variable("AWS_SECRET_ACCESS_KEY") {
            credentials = AWSCredentials(
                accessKeyID: key, secretAccessKey: secret, sessionToken: variable("AWS_SESSION_TOKEN"))
        } else if let found = fileCredentials(credentialsFile) ?? fileCredentials(configFile) {
            credentials = found
        } else {
            throw Missing(
                description: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                    + "AWS_SESSION_TOKEN for temporary ones) in the controller's environment, or give the profile "
                    + "\"\(profile)\" aws_access_key_id and aws_secret_access_key in \(credentialsPath); Aviary does "
                    + "not read EC2 instance roles or web identity tokens")
        }
        guard let region = variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION") ?? configFile["region"] else {
            throw Missing(
                description: "no AWS region: set AWS_REGION in the controller's environment (as Argo's CloudWatch "
                    + "setup says), or region in the profile \"\(profile)\" of \(configPath)")
        }
        let endpointVariable = "AWS_ENDPOINT_URL_" + serviceID.uppercased().replacingOccurrences(of: " ", with: "_")
        let endpoint =
            variable(endpointVariable) ?? variable("AWS_ENDPOINT_URL")
            ?? "https://\(service).\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
        return AWSConfiguration(credentials: credentials, region: region, endpoint: endpoint)
    }

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
