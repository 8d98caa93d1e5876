import Foundation
import NIOHTTP1
import Testing

/// A browser of the dashboard: keeps the session cookie it is given, reads each page's CSRF token.
public final class DashboardBrowser {
    /// The dashboard's address.
    public let base: String
    /// The session cookie (`aviary_session=...`) it was given.
    public var cookie: String?
    /// The CSRF token of the last page it read.
    public var csrf: String?

    /// A browser of the dashboard at `base`.
    public init(base: String) { self.base = base }

    /// GET: keeps the cookie, reads the page's CSRF token.
    @discardableResult
    public func get(_ path: String) async throws -> Exchange {
        let exchange = try #require(await http(.GET, base + path, headers: cookieHeader(), followRedirects: false))
        remember(exchange)
        if let range = exchange.text.range(of: #"name="csrf-token" content=""#) {
            csrf = String(exchange.text[range.upperBound...].prefix { $0 != "\"" })
        }
        return exchange
    }

    /// POST of form fields, with the CSRF token as a header when given, asking for JSON when `json`.
    @discardableResult
    public func post(
        _ path: String, fields: [String: String], csrf: String? = nil, json: Bool = true
    ) async throws
        -> Exchange
    {
        var headers = cookieHeader() + [("Content-Type", "application/x-www-form-urlencoded")]
        if json { headers.append(("Accept", "application/json")) }
        if let csrf { headers.append(("X-CSRF-Token", csrf)) }
        let body = fields.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }.joined(separator: "&")
        let exchange = try #require(
            await http(.POST, base + path, body: Data(body.utf8), headers: headers, followRedirects: false))
        remember(exchange)
        return exchange
    }

    /// The Cookie header of its session.
    public func cookieHeader() -> [(String, String)] { cookie.map { [("Cookie", $0)] } ?? [] }

    func remember(_ exchange: Exchange) {
        for value in exchange.headers["Set-Cookie"] {
            let pair = String(value.prefix { $0 != ";" })
            cookie = pair.hasSuffix("=") ? nil : pair
        }
    }
}
