import Crypto
import Foundation

/// An AWS access key, with the session token of temporary credentials.
struct AWSCredentials: Sendable, Equatable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
}

/// AWS Signature Version 4 for one request, as AWS's SDKs sign: the canonical request (method,
/// path, sorted query, the signed headers lowercased and sorted, the body's SHA-256), the string
/// to sign over the credential scope `DATE/REGION/SERVICE/aws4_request`, and the HMAC-SHA256
/// chain of the secret key over the same four parts.
enum AWSSignatureV4 {
    /// The headers to add to the request: `X-Amz-Date`, `X-Amz-Security-Token` with temporary
    /// credentials, `X-Amz-Content-Sha256` when asked for, and `Authorization`. `headers` are the
    /// request's own (a `Host` among them), all of them signed.
    static func sign(
        method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], body: Data,
        credentials: AWSCredentials, region: String, service: String, date: Date
    ) -> [(String, String)] {
        let stamp = timestamp(date)
        let day = String(stamp.prefix(8))
        var added = [("X-Amz-Date", stamp)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        let signed = canonicalHeaders(headers + added)
        let names = signed.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            method, canonicalPath(path), canonicalQuery(query),
            signed.map { "\($0.name):\($0.value)\n" }.joined(), names, hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp, scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(names), "
                    + "Signature=\(signature)"
            ))
        return added
    }

    /// A POST of `body` to an AWS endpoint (`http(s)://HOST[:PORT][/PATH]`), its headers with `Host`
    /// added and signed for `service`.
    static func post(
        to endpoint: String, headers: [(String, String)], body: Data, credentials: AWSCredentials, region: String,
        service: String, date: Date, timeout: Duration
    ) -> MetricHTTPRequest {
        let components = URLComponents(string: endpoint)
        var host = components?.host ?? endpoint
        if let port = components?.port { host += ":\(port)" }
        let path = components?.path ?? ""
        let headers = [("Host", host)] + headers
        let signature = sign(
            method: "POST", path: path.isEmpty ? "/" : path, headers: headers, body: body, credentials: credentials,
            region: region, service: service, date: date)
        return MetricHTTPRequest(
            method: .POST, url: endpoint + (path.isEmpty ? "/" : ""), headers: headers + signature, body: body,
            timeout: timeout)
    }

    /// A Query API form body: `name=value` pairs URI-encoded, in order, joined by `&`.
    static func form(_ pairs: [(String, String)]) -> Data {
        Data(pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&").utf8)
    }

    /// `20150830T123600Z`: the request's time in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Names lowercased, values trimmed with inner runs of spaces made one, sorted by name; a
    /// name given twice is one header with the values joined by commas.
    static func canonicalHeaders(_ headers: [(String, String)]) -> [(name: String, value: String)] {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            values[name.lowercased(), default: []].append(trimmed)
        }
        return values.keys.sorted().map { ($0, values[$0]!.joined(separator: ",")) }
    }

    /// Each segment of the path URI-encoded (an empty path is `/`).
    static func canonicalPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }
            .joined(separator: "/")
    }

    /// `name=value` pairs URI-encoded and sorted by name, then value.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let pairs: [(name: String, value: String)] = query.map { (encode($0.0), encode($0.1)) }
        let sorted = pairs.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding: every byte but letters, digits and `-._~` as `%XX`, upper-case hex.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
