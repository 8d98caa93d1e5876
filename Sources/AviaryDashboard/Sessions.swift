import Crypto
import Foundation
import Synchronization

/// The dashboard's sessions and CSRF tokens.
///
/// Every browser gets a session cookie (`aviary_session`, HttpOnly, SameSite=Strict) on its first
/// page. Its CSRF token is an HMAC of the session id under a key the daemon draws at start, so any
/// form or `fetch` of a page carries a token that a page of another site cannot know; nothing is
/// stored for a session that has not signed in. When the daemon has a token, signing in with it
/// replaces the cookie with a new id that is remembered (for `lifetime`) as signed in; signing out
/// forgets it. A daemon restart signs everyone out.
public final class DashboardSessions: Sendable {
    /// The cookie's name.
    public static let cookie = "aviary_session"
    /// How long a sign-in lasts.
    public let lifetime: TimeInterval
    /// At most this many signed-in sessions are kept; the oldest go first.
    static let limit = 10_000

    private let key: SymmetricKey
    private let signedIn = Mutex<[String: Date]>([:])

    public init(lifetime: TimeInterval = 12 * 3600) {
        self.lifetime = lifetime
        key = SymmetricKey(size: .bits256)
    }

    /// A new random session id (256 bits, base64url).
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return base64URL(Data(bytes))
    }

    /// Whether `id` looks like one of ours (43 base64url characters); a cookie that does not is replaced.
    public static func isWellFormed(_ id: String) -> Bool {
        id.utf8.count == 43
            && id.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
            }
    }

    /// The CSRF token of a session.
    public func csrfToken(for session: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("csrf:" + session).utf8), using: key)
        return Self.base64URL(Data(mac))
    }

    /// Whether `token` is the CSRF token of `session` (compared in constant time).
    public func isValidCSRF(_ token: String?, session: String) -> Bool {
        guard let token, !token.isEmpty else { return false }
        let expected = Array(csrfToken(for: session).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }

    /// Signs a session in: the new session id to set as the cookie.
    public func signIn(now: Date = Date()) -> String {
        let id = Self.newID()
        signedIn.withLock { sessions in
            sessions = sessions.filter { $0.value > now }
            if sessions.count >= Self.limit, let oldest = sessions.min(by: { $0.value < $1.value })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = now.addingTimeInterval(lifetime)
        }
        return id
    }

    /// Whether `session` signed in and has not expired.
    public func isSignedIn(_ session: String?, now: Date = Date()) -> Bool {
        guard let session else { return false }
        return signedIn.withLock { sessions in
            guard let expiry = sessions[session] else { return false }
            if expiry <= now {
                sessions[session] = nil
                return false
            }
            return true
        }
    }

    /// How many wrong tokens a minute are answered before sign-in waits for the minute to pass.
    public static let wrongTokensPerMinute = 10
    private let wrongTokens = Mutex<[Date]>([])

    /// Whether sign-in is held back now (too many wrong tokens in the last minute), and for how
    /// many seconds more: a guess a second cannot go on.
    public func signInWait(now: Date = Date()) -> Int? {
        wrongTokens.withLock { times in
            times.removeAll { now.timeIntervalSince($0) >= 60 }
            guard times.count >= Self.wrongTokensPerMinute, let oldest = times.first else { return nil }
            return max(1, Int((60 - now.timeIntervalSince(oldest)).rounded(.up)))
        }
    }

    /// Counts a wrong token.
    public func wrongToken(now: Date = Date()) {
        wrongTokens.withLock { $0.append(now) }
    }

    /// Signs a session out.
    public func signOut(_ session: String) {
        _ = signedIn.withLock { $0.removeValue(forKey: session) }
    }

    /// How many sessions are signed in.
    public var signedInCount: Int { signedIn.withLock { $0.count } }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The session cookie's `Set-Cookie` value; `secure` adds `Secure` (a daemon behind HTTPS).
    public static func setCookie(_ id: String, secure: Bool = false) -> String {
        "\(cookie)=\(id); Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// A `Set-Cookie` value that removes the cookie.
    public static let clearCookie = "\(cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"

    /// The session id in a `Cookie` header, if it is well formed.
    public static func session(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(cookie + "=") else { continue }
            let value = String(pair.dropFirst(cookie.count + 1))
            if isWellFormed(value) { return value }
        }
        return nil
    }
}
