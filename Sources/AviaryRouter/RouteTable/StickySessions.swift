import AviaryRoutes
import Synchronization

/// A route's sticky sessions, compiled (see `StickyDefinition`): which backend owns each
/// bucket, where a request's bucket comes from, and the buckets handed to new sessions.
final class StickySessions: Sendable {
    /// Where a session's bucket is carried.
    enum Key: Sendable, Equatable {
        /// In a cookie of this name, set by the router.
        case cookie(String)
        /// In the hash of this request header's value (lowercased name).
        case header(String)
    }

    /// The number of buckets sessions are spread over.
    static let buckets = 10_000

    let key: Key
    /// The end (exclusive) of each backend's range of buckets, in the route's order.
    private let bounds: [Int]
    /// The cookie's name as bytes, to find it in a `Cookie` field without making strings.
    private let cookieName: [UInt8]
    /// New sessions numbered from 0, for `newBucket`.
    private let sessions = Atomic<Int>(0)
    /// Where the sequence starts: random, so the first session of a table is not always the
    /// first backend's (any start spreads as evenly).
    private let start = Double.random(in: 0..<1)

    /// Ranges sized by `weights`, of which at least one is positive.
    init(key: Key, weights: [Int]) {
        self.key = key
        let total = max(1, weights.reduce(0, +))
        var sum = 0
        bounds = weights.map { weight in
            sum += weight
            return sum * Self.buckets / total
        }
        if case .cookie(let name) = key { cookieName = Array(name.utf8) } else { cookieName = [] }
    }

    /// The backend index that owns `bucket`.
    func backend(forBucket bucket: Int) -> Int {
        bounds.firstIndex { bucket < $0 } ?? (bounds.count - 1)
    }

    /// The bucket of the next new session: the Weyl sequence of the golden ratio, so that any
    /// range of buckets gets its share of the first n sessions within a few sessions (a random
    /// draw would stray by the square root of n).
    func newBucket() -> Int {
        let number = sessions.wrappingAdd(1, ordering: .relaxed).oldValue
        let fraction = (start + Double(number) * 0.618_033_988_749_894_9).truncatingRemainder(dividingBy: 1)
        return min(Self.buckets - 1, Int(fraction * Double(Self.buckets)))
    }

    /// The `Set-Cookie` line that gives a new session `bucket`.
    func setCookieLine(bucket: Int) -> [UInt8] {
        guard case .cookie(let name) = key else { return [] }
        return Array("Set-Cookie: \(name)=\(bucket); Path=/; HttpOnly; SameSite=Lax\r\n".utf8)
    }

    /// The bucket a request carries, from its head's fields: the cookie's value when it is a
    /// bucket number, the header value's hash; nil when it carries none.
    func bucket(of head: MessageHead, _ bytes: UnsafeRawBufferPointer) -> Int? {
        switch key {
        case .cookie:
            for field in head.fields
            where MessageHead.equalsIgnoringCase(bytes, field.lineStart..<field.nameEnd, "cookie") {
                if let bucket = cookieBucket(bytes, field.valueStart..<field.valueEnd) { return bucket }
            }
            return nil
        case .header(let name):
            for field in head.fields where field.nameEnd - field.lineStart == name.utf8.count {
                guard
                    zip(bytes[field.lineStart..<field.nameEnd], name.utf8).allSatisfy({ $0.asciiLowercased == $1 }),
                    field.valueEnd > field.valueStart
                else { continue }
                return Self.hashBucket(bytes[field.valueStart..<field.valueEnd])
            }
            return nil
        }
    }

    /// The bucket an HTTP/2 request carries in its fields (names in lower case; its cookies may
    /// come as several `cookie` fields, RFC 9113 8.2.3); nil when it carries none.
    func bucket(ofFields fields: some Sequence<(name: String, value: String)>) -> Int? {
        switch key {
        case .cookie:
            for field in fields where field.name == "cookie" {
                let found = Array(field.value.utf8).withUnsafeBytes { cookieBucket($0, 0..<$0.count) }
                if let found { return found }
            }
            return nil
        case .header(let name):
            return fields.first { $0.name == name && !$0.value.isEmpty }.map { Self.hashBucket($0.value.utf8) }
        }
    }

    /// The `set-cookie` value that gives a new session `bucket`, for an HTTP/2 answer.
    func setCookieValue(bucket: Int) -> String? {
        guard case .cookie(let name) = key else { return nil }
        return "\(name)=\(bucket); Path=/; HttpOnly; SameSite=Lax"
    }

    /// The bucket in `name=value` pairs separated by `;` (RFC 6265 §4.2.1), if the cookie is
    /// there with a number below `buckets`.
    private func cookieBucket(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        var index = range.lowerBound
        while index < range.upperBound {
            while index < range.upperBound, bytes[index] == .space || bytes[index] == UInt8(ascii: ";") { index += 1 }
            let nameStart = index
            while index < range.upperBound, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ";") {
                index += 1
            }
            let isOurs = bytes[nameStart..<index].elementsEqual(cookieName)
            guard index < range.upperBound, bytes[index] == UInt8(ascii: "=") else { continue }
            index += 1
            let valueStart = index
            while index < range.upperBound, bytes[index] != UInt8(ascii: ";") { index += 1 }
            guard isOurs else { continue }
            var value = 0
            let digits = bytes[valueStart..<index]
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy(\.isDigit) else { return nil }
            for digit in digits { value = value * 10 + Int(digit &- .zero) }
            return value < Self.buckets ? value : nil
        }
        return nil
    }

    /// FNV-1a of `value`, onto the buckets.
    static func hashBucket(_ value: some Sequence<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(buckets))
    }
}
