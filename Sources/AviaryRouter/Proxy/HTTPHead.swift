import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One header field of a parsed head, as byte offsets from the start of the head.
struct HeaderField {
    /// Where the field's line starts.
    var lineStart: Int
    /// Where its name ends (the colon).
    var nameEnd: Int
    /// Where its value starts and ends, surrounding spaces and tabs left out.
    var valueStart: Int
    var valueEnd: Int
    /// Where the next line starts (after the CRLF).
    var lineEnd: Int
    /// Whether the proxy drops it when forwarding: hop-by-hop, named by `Connection`, or
    /// rebuilt by the proxy (`X-Forwarded-For`).
    var isDropped = false
    /// What the field is to the proxy.
    var role = Role.other

    /// The fields the proxy looks at.
    enum Role {
        case other, contentLength, transferEncoding, connection, hopByHop, upgrade, forwardedFor, forwardedProto, host
        case expect
    }
}

/// A request or response head read straight from the bytes on the wire, strictly (RFC 9112):
/// what the proxy needs to route, frame the body and forward the head, with every field kept as
/// offsets so that forwarding copies bytes and makes no strings.
///
/// Strict on purpose, because a proxy and the server behind it must agree on where a message
/// ends (request smuggling): lines end with CRLF only; no whitespace before a field's colon; no
/// folded lines; no control characters in values; one `Content-Length` value; a request's
/// `Transfer-Encoding` must end in `chunked` and must not come with a `Content-Length`.
struct MessageHead {
    /// Where the start line begins (after empty lines before a request line).
    var start = 0
    /// The request method, target and the response status, as offsets (requests) or a number
    /// (responses).
    var method = 0..<0
    var target = 0..<0
    var status = 0
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion = 1
    /// Where the start line's CRLF ends.
    var startLineEnd = 0
    /// The size of the head, its final empty line included.
    var length = 0
    /// The fields in order.
    var fields: [HeaderField] = []

    /// The body's length when given by `Content-Length`.
    var contentLength: Int?
    /// Whether `Transfer-Encoding` ends in `chunked`.
    var isChunked = false
    /// Whether a `Transfer-Encoding` is present at all.
    var hasTransferEncoding = false
    /// The `Connection` options `close` and `keep-alive`.
    var connectionClose = false
    var connectionKeepAlive = false
    /// Whether a field other than a `Connection: keep-alive` is dropped when forwarding. A head that drops only
    /// that one may go on whole where the next hop is kept alive too: the field then states the
    /// proxy's own option for the forwarded message, which RFC 9110 §7.6.1 allows in its place.
    var dropsBeyondKeepAlive = false
    /// Whether an `X-Forwarded-For` or `X-Forwarded-Proto` field is present.
    var hasForwardedFor = false
    var hasForwardedProto = false
    /// Whether the request asks for `100 Continue` before it sends its body.
    var expectsContinue = false
    /// Whether `Connection` carries the `upgrade` option.
    var connectionUpgrade = false
    /// The index in `fields` of the `Upgrade` field, if any.
    var upgradeField: Int?
    /// `Connection` options other than `close` and `keep-alive`: names of fields to drop.
    private var connectionOptions: [Range<Int>] = []

    /// Whether the sender wants the connection kept after this message.
    var isKeepAlive: Bool { minorVersion >= 1 ? !connectionClose : connectionKeepAlive && !connectionClose }

    /// Whether an HTTP/1.1 message asks to switch protocols (RFC 9110 §7.8): an `Upgrade` field
    /// named by a `Connection: upgrade` option. For a request, the proxy forwards both; for a
    /// 101 response, the connection becomes a tunnel.
    var asksUpgrade: Bool { minorVersion == 1 && connectionUpgrade && upgradeField != nil }

    /// Resets everything but the fields' storage.
    mutating func reset() {
        // Moved out first, so the array is uniquely referenced and keeps its buffer: a copy
        // would make `removeAll(keepingCapacity:)` allocate a new one on every message.
        var fields: [HeaderField] = []
        swap(&fields, &self.fields)
        fields.removeAll(keepingCapacity: true)
        self = MessageHead()
        self.fields = fields
    }
}

/// Why a head was refused.
enum HeadError: Error, Equatable {
    /// The bytes break the message syntax; the reason is for logs and tests, never echoed.
    case malformed(String)
    /// The head is larger than the limit.
    case tooLarge
}

/// What reading a head from the bytes received so far gave.
enum HeadParse: Equatable {
    /// The head is not complete yet.
    case incomplete
    /// A whole head of this many bytes (leading empty lines included) was read.
    case complete(Int)
}

extension MessageHead {
    /// Reads a request head (`isRequest`) or a response head from the start of `bytes` into
    /// `self`. Returns `.incomplete` while the final empty line has not arrived; throws
    /// `.tooLarge` once more than `limit` bytes carry no complete head, and `.malformed` for
    /// bytes no valid head starts with. Offsets are from the start of `bytes`; empty lines before
    /// a request line are skipped (RFC 9112 §2.2) and counted in the returned size.
    mutating func parse(_ bytes: UnsafeRawBufferPointer, isRequest: Bool, limit: Int) throws(HeadError) -> HeadParse {
        var start = 0
        if isRequest {
            while start + 1 < bytes.count, bytes[start] == .cr, bytes[start + 1] == .lf { start += 2 }
        }
        // Find the end first: a request whose head is cut off is only refused as too large.
        // Line by line with memchr: the scan is a good part of reading a small head.
        var end = -1
        var index = start
        while index < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + index, Int32(UInt8.lf), bytes.count - index)
        {
            index = base.distance(to: UnsafeRawPointer(found))
            guard index > start, bytes[index - 1] == .cr else { throw .malformed("line ends without CR") }
            if index >= start + 3, bytes[index - 2] == .lf {
                end = index + 1
                break
            }
            index += 1
        }
        guard end > 0 else {
            if bytes.count - start > limit { throw .tooLarge }
            return .incomplete
        }
        if end - start > limit { throw .tooLarge }
        reset()
        self.start = start
        var cursor = start
        if isRequest {
            try parseRequestLine(bytes, &cursor)
        } else {
            try parseStatusLine(bytes, &cursor)
        }
        startLineEnd = cursor
        while !(bytes[cursor] == .cr && bytes[cursor + 1] == .lf) {
            try parseField(bytes, &cursor, isRequest: isRequest)
        }
        length = cursor + 2
        try settleFraming(bytes, isRequest: isRequest)
        return .complete(length)
    }

    private mutating func parseRequestLine(_ bytes: UnsafeRawBufferPointer, _ cursor: inout Int) throws(HeadError) {
        let methodStart = cursor
        while bytes[cursor].isTokenCharacter { cursor += 1 }
        guard cursor > methodStart, bytes[cursor] == .space else { throw .malformed("bad method") }
        method = methodStart..<cursor
        cursor += 1
        let targetStart = cursor
        while bytes[cursor] > .space && bytes[cursor] != 0x7F { cursor += 1 }
        guard cursor > targetStart, bytes[cursor] == .space else { throw .malformed("bad request target") }
        target = targetStart..<cursor
        cursor += 1
        minorVersion = try Self.version(bytes, at: cursor)
        cursor += 8
        guard bytes[cursor] == .cr, bytes[cursor + 1] == .lf else { throw .malformed("bad request line end") }
        cursor += 2
    }

    private mutating func parseStatusLine(_ bytes: UnsafeRawBufferPointer, _ cursor: inout Int) throws(HeadError) {
        minorVersion = try Self.version(bytes, at: cursor)
        cursor += 8
        guard bytes[cursor] == .space else { throw .malformed("bad status line") }
        cursor += 1
        var code = 0
        for _ in 0..<3 {
            guard bytes[cursor].isDigit else { throw .malformed("bad status code") }
            code = code * 10 + Int(bytes[cursor] &- .zero)
            cursor += 1
        }
        guard code >= 100 else { throw .malformed("bad status code") }
        status = code
        if bytes[cursor] == .space {
            while bytes[cursor].isFieldTextByte { cursor += 1 }
        }
        guard bytes[cursor] == .cr, bytes[cursor + 1] == .lf else { throw .malformed("bad status line end") }
        cursor += 2
    }

    /// `HTTP/1.0` or `HTTP/1.1` at `index`: the minor version.
    private static func version(_ bytes: UnsafeRawBufferPointer, at index: Int) throws(HeadError) -> Int {
        guard index + 8 <= bytes.count, bytes[index] == 0x48, bytes[index + 1] == 0x54, bytes[index + 2] == 0x54,
            bytes[index + 3] == 0x50, bytes[index + 4] == 0x2F, bytes[index + 5] == 0x31, bytes[index + 6] == 0x2E,
            bytes[index + 7] == 0x30 || bytes[index + 7] == 0x31
        else { throw .malformed("not HTTP/1.0 or HTTP/1.1") }
        return Int(bytes[index + 7] &- .zero)
    }

    private mutating func parseField(
        _ bytes: UnsafeRawBufferPointer, _ cursor: inout Int, isRequest: Bool
    ) throws(HeadError) {
        let lineStart = cursor
        while bytes[cursor].isTokenCharacter { cursor += 1 }
        // A line starting with a space is an obsolete folded line; a space before the colon
        // is refused outright (RFC 9112 §5.1).
        guard cursor > lineStart, bytes[cursor] == .colon else { throw .malformed("bad header field name") }
        let nameEnd = cursor
        cursor += 1
        while bytes[cursor] == .space || bytes[cursor] == .tab { cursor += 1 }
        let valueStart = cursor
        var valueEnd = cursor
        while true {
            let byte = bytes[cursor]
            // `isFieldTextByte`, split so the common case (visible ASCII or obs-text) is one
            // comparison a byte and the value's end skips trailing spaces.
            if byte &- 0x21 < 0x5E || byte >= 0x80 {
                cursor += 1
                valueEnd = cursor
            } else if byte == .space || byte == .tab {
                cursor += 1
            } else if byte == .cr {
                break
            } else {
                throw .malformed("control byte in a value")
            }
        }
        guard bytes[cursor + 1] == .lf else { throw .malformed("bare CR") }
        cursor += 2
        var field = HeaderField(
            lineStart: lineStart, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd, lineEnd: cursor)
        field.role = Self.role(bytes, name: lineStart..<nameEnd)
        switch field.role {
        case .contentLength:
            let value = try Self.contentLength(bytes, valueStart..<valueEnd)
            if let contentLength, contentLength != value { throw .malformed("two different Content-Length values") }
            contentLength = value
        case .transferEncoding:
            hasTransferEncoding = true
            try readTransferCodings(bytes, valueStart..<valueEnd)
        case .connection:
            field.isDropped = true
            if !readConnectionOptions(bytes, valueStart..<valueEnd) { dropsBeyondKeepAlive = true }
        case .hopByHop, .forwardedFor:
            field.isDropped = true
            dropsBeyondKeepAlive = true
            hasForwardedFor = hasForwardedFor || field.role == .forwardedFor
        case .upgrade:
            // Hop-by-hop; put back by the proxy when it forwards an upgrade it carries.
            field.isDropped = true
            dropsBeyondKeepAlive = true
            if upgradeField == nil { upgradeField = fields.count }
        case .forwardedProto:
            hasForwardedProto = true
        case .expect:
            expectsContinue = Self.equalsIgnoringCase(bytes, valueStart..<valueEnd, "100-continue")
        case .host:
            if isRequest, fields.contains(where: { $0.role == .host }) { throw .malformed("two Host fields") }
        case .other:
            break
        }
        fields.append(field)
    }

    /// A `Content-Length` value: digits only, no list, no sign, at most 15 digits.
    private static func contentLength(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HeadError) -> Int {
        guard !range.isEmpty, range.count <= 15 else { throw .malformed("bad Content-Length") }
        var value = 0
        for index in range {
            guard bytes[index].isDigit else { throw .malformed("bad Content-Length") }
            value = value * 10 + Int(bytes[index] &- .zero)
        }
        return value
    }

    /// Reads a `Transfer-Encoding` list: `chunked`, if present, must be the last coding, once.
    private mutating func readTransferCodings(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(HeadError) {
        var codingAfterChunked = false
        Self.forEachListElement(bytes, range) { token in
            if isChunked { codingAfterChunked = true }
            if Self.equalsIgnoringCase(bytes, token, "chunked") { isChunked = true }
        }
        if codingAfterChunked { throw .malformed("a coding after chunked") }
    }

    /// Reads `Connection` options; other options name fields to drop (RFC 9110 §7.6.1), which
    /// `settleFraming` does once every field is read. Returns whether the field said
    /// `keep-alive` and nothing else.
    private mutating func readConnectionOptions(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var keepAliveOnly = true
        var saidKeepAlive = false
        Self.forEachListElement(bytes, range) { token in
            if Self.equalsIgnoringCase(bytes, token, "keep-alive") {
                connectionKeepAlive = true
                saidKeepAlive = true
                return
            }
            keepAliveOnly = false
            if Self.equalsIgnoringCase(bytes, token, "close") {
                connectionClose = true
            } else if Self.equalsIgnoringCase(bytes, token, "upgrade") {
                connectionUpgrade = true
            } else {
                connectionOptions.append(token)
            }
        }
        return keepAliveOnly && saidKeepAlive
    }

    /// Checks the framing fields against each other once every field is read, and drops the
    /// fields a `Connection` option named after the option itself.
    private mutating func settleFraming(_ bytes: UnsafeRawBufferPointer, isRequest: Bool) throws(HeadError) {
        for token in connectionOptions {
            for index in fields.indices
            where !fields[index].isDropped
                && Self.equalsIgnoringCase(bytes, fields[index].lineStart..<fields[index].nameEnd, bytes, token)
            {
                fields[index].isDropped = true
                dropsBeyondKeepAlive = true
            }
        }
        connectionOptions = []
        guard isRequest, hasTransferEncoding else { return }
        if contentLength != nil { throw .malformed("both Transfer-Encoding and Content-Length") }
        if !isChunked { throw .malformed("a request's Transfer-Encoding does not end in chunked") }
        if minorVersion == 0 { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
    }

    /// Calls `body` with each comma-separated element of a list value, surrounding spaces left
    /// out (no array: this runs for the `Connection` field of most messages).
    private static func forEachListElement(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Void
    ) {
        var start = range.lowerBound
        for index in range.lowerBound...range.upperBound where index == range.upperBound || bytes[index] == .comma {
            var low = start
            var high = index
            while low < high, bytes[low] == .space || bytes[low] == .tab { low += 1 }
            while high > low, bytes[high - 1] == .space || bytes[high - 1] == .tab { high -= 1 }
            if high > low { body(low..<high) }
            start = index + 1
        }
    }

    /// What a field name is to the proxy, by length first.
    private static func role(_ bytes: UnsafeRawBufferPointer, name: Range<Int>) -> HeaderField.Role {
        func isName(_ expected: StaticString) -> Bool { equalsIgnoringCase(bytes, name, expected) }
        switch name.count {
        case 2: return isName("te") ? .hopByHop : .other
        case 4: return isName("host") ? .host : .other
        case 6: return isName("expect") ? .expect : .other
        case 7:
            if isName("upgrade") { return .upgrade }
            return isName("trailer") ? .hopByHop : .other
        case 10:
            if isName("connection") { return .connection }
            return isName("keep-alive") ? .hopByHop : .other
        case 14: return isName("content-length") ? .contentLength : .other
        case 15: return isName("x-forwarded-for") ? .forwardedFor : .other
        case 16: return isName("proxy-connection") ? .hopByHop : .other
        case 17:
            if isName("transfer-encoding") { return .transferEncoding }
            return isName("x-forwarded-proto") ? .forwardedProto : .other
        case 18: return isName("proxy-authenticate") ? .hopByHop : .other
        case 19: return isName("proxy-authorization") ? .hopByHop : .other
        default: return .other
        }
    }

    /// Whether the bytes in `range` are `expected` (lowercase ASCII) in any case.
    static func equalsIgnoringCase(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ expected: StaticString
    )
        -> Bool
    {
        guard range.count == expected.utf8CodeUnitCount else { return false }
        let letters = expected.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset].asciiLowercased != letters[offset] {
            return false
        }
        return true
    }

    /// Whether two byte ranges are equal in any ASCII case.
    static func equalsIgnoringCase(
        _ bytes: UnsafeRawBufferPointer, _ left: Range<Int>, _ other: UnsafeRawBufferPointer, _ right: Range<Int>
    ) -> Bool {
        guard left.count == right.count else { return false }
        for offset in 0..<left.count
        where bytes[left.lowerBound + offset].asciiLowercased != other[right.lowerBound + offset].asciiLowercased {
            return false
        }
        return true
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let zero = UInt8(ascii: "0")

    var isDigit: Bool { self >= .zero && self <= UInt8(ascii: "9") }

    /// A byte a field value, reason phrase, chunk extension or trailer may hold: visible ASCII,
    /// obs-text, space or tab; no other control byte (RFC 9110 §5.5).
    var isFieldTextByte: Bool { self == .tab || self >= .space && self != 0x7F }

    var asciiLowercased: UInt8 { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self }

    /// A `tchar` of RFC 9110 §5.6.2: the characters of methods and field names.
    var isTokenCharacter: Bool { Self.tokenTable[Int(self)] }

    private static let tokenTable: [Bool] = (0..<256).map { byte in
        if byte >= 0x80 || byte <= 0x20 || byte == 0x7F { return false }
        return !"\"(),/:;<=>?@[\\]{}".utf8.contains(UInt8(byte))
    }
}
