import NIOCore
import NIOHPACK
import NIOHTTP2

/// The HTTP/2 framing layer the router speaks to its clients (RFC 9113, section 4 and 6): the
/// frame types and flags it reads and writes, the checks a request's header block must pass
/// before it is forwarded, and the rate limits that cut a flooding connection off. Pure: the
/// connection handler (`HTTP2ConnectionProxy`) does the I/O.
enum HTTP2Wire {
    enum FrameType {
        static let data: UInt8 = 0x0
        static let headers: UInt8 = 0x1
        static let priority: UInt8 = 0x2
        static let rstStream: UInt8 = 0x3
        static let settings: UInt8 = 0x4
        static let pushPromise: UInt8 = 0x5
        static let ping: UInt8 = 0x6
        static let goAway: UInt8 = 0x7
        static let windowUpdate: UInt8 = 0x8
        static let continuation: UInt8 = 0x9
    }

    enum Flag {
        static let endStream: UInt8 = 0x1
        static let ack: UInt8 = 0x1
        static let endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8
        static let priority: UInt8 = 0x20
    }

    enum Setting {
        static let headerTableSize: UInt16 = 0x1
        static let enablePush: UInt16 = 0x2
        static let maxConcurrentStreams: UInt16 = 0x3
        static let initialWindowSize: UInt16 = 0x4
        static let maxFrameSize: UInt16 = 0x5
        static let maxHeaderListSize: UInt16 = 0x6
    }

    /// The size of a frame header.
    static let headerLength = 9
    /// The largest frame the router takes (its SETTINGS_MAX_FRAME_SIZE, the protocol's default).
    static let maxFrameSize = 16_384
    /// The largest flow-control window (2^31 - 1).
    static let maxWindow = Int(Int32.max)
    /// The streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    static let maxConcurrentStreams = 250

    /// Writes a frame header.
    static func writeFrameHeader(
        length: Int, type: UInt8, flags: UInt8, stream: UInt32, into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
        buffer.writeInteger(UInt16(truncatingIfNeeded: length))
        buffer.writeInteger(type)
        buffer.writeInteger(flags)
        buffer.writeInteger(stream & 0x7FFF_FFFF)
    }

    /// Sets a frame header at `index` of `buffer` (over the nine bytes left for it there).
    static func setFrameHeader(
        length: Int, type: UInt8, flags: UInt8, stream: UInt32, at index: Int, in buffer: inout ByteBuffer
    ) {
        buffer.setInteger(UInt8(truncatingIfNeeded: length >> 16), at: index)
        buffer.setInteger(UInt16(truncatingIfNeeded: length), at: index + 1)
        buffer.setInteger(type, at: index + 3)
        buffer.setInteger(flags, at: index + 4)
        buffer.setInteger(stream & 0x7FFF_FFFF, at: index + 5)
    }

    /// Strips a PADDED frame's pad length and padding from `payload`; nil when the padding is
    /// longer than the frame (a PROTOCOL_ERROR).
    static func unpadded(_ payload: ByteBuffer, flags: UInt8) -> ByteBuffer? {
        guard flags & Flag.padded != 0 else { return payload }
        var payload = payload
        guard let padding = payload.readInteger(as: UInt8.self), Int(padding) <= payload.readableBytes else {
            return nil
        }
        return payload.readSlice(length: payload.readableBytes - Int(padding))
    }

    // MARK: Header blocks

    /// What a client's header block says, once checked.
    enum BlockCheck: Equatable {
        /// A well-formed request head, and what the router needs of it.
        case request(Request)
        /// A well-formed trailers block.
        case trailers
        /// Malformed (RFC 9113, 8.1.1): the stream is reset with PROTOCOL_ERROR, and why.
        case malformed(String)
    }

    /// What routing and relaying need of a well-formed request head, read in the same pass that
    /// checks it.
    struct Request: Equatable {
        var target: HTTP2Messages.Target
        /// The body's length when the head gives one.
        var contentLength: Int?
        /// The request is gRPC (`content-type: application/grpc...`): its answers then carry
        /// `grpc-status`.
        var isGRPC = false
    }

    /// Checks a request's header block (RFC 9113, 8.2 and 8.3) as one pass over its fields:
    /// names in lower case and of token characters; values without NUL, CR or LF (no field may
    /// become two in an HTTP/1.1 head); the pseudo-fields first, known, once each, and
    /// `:method` (not empty), `:scheme` and `:path` present (only `:authority` for CONNECT);
    /// none of the fields of one HTTP/1.1 connection, and `te` only as `trailers`; every
    /// `content-length` the same number. The same pass reads the target and the content type.
    ///
    /// Each field's own checks were made when it was decoded (`HeaderBlock.Kind`); this pass
    /// reads the kinds.
    static func checkRequest(_ block: HeaderBlock) -> BlockCheck {
        var seen: UInt8 = 0
        var regular = false
        var request = Request(target: .init(method: "", path: ""))
        var sawContentType = false
        for field in block.fields {
            let kind = field.kind
            switch kind.role {
            case .unnamed:
                return .malformed("a field without a name")
            case .pseudo:
                if regular { return .malformed("the pseudo-field \(field.name) follows a regular field") }
                let bit = kind.pseudoBit
                switch bit {
                case 1: request.target.method = field.value
                case 2: request.target.scheme = field.value
                case 4: request.target.path = field.value
                case 8: request.target.authority = field.value
                default: return .malformed("the pseudo-field \(field.name) is not one of a request")
                }
                if seen & bit != 0 { return .malformed("\(field.name) is given twice") }
                seen |= bit
                if field.value.isEmpty, bit & (1 | 4) != 0 { return .malformed("\(field.name) is empty") }
            default:
                regular = true
                guard kind.nameIsValid else {
                    return .malformed("the field name \(field.name) is not lower-case token characters")
                }
                switch kind.role {
                case .connectionSpecific:
                    return .malformed("\(field.name) is a field of an HTTP/1.1 connection")
                case .te where !kind.isSpecialValue:
                    return .malformed("te may only be trailers")
                case .contentLength:
                    guard let length = kind.length, request.contentLength == nil || request.contentLength == length
                    else {
                        return .malformed("content-length \(field.value) is not one number")
                    }
                    request.contentLength = length
                case .contentType:
                    // Only the first one counts.
                    if !sawContentType {
                        sawContentType = true
                        request.isGRPC = kind.isSpecialValue
                    }
                default: break
                }
            }
            guard kind.valueIsValid else { return .malformed("the value of \(field.name) has NUL, CR or LF") }
        }
        if request.target.method.utf8.count == 7, request.target.method == "CONNECT" {
            guard seen == 1 | 8 else { return .malformed("CONNECT needs :authority and no :scheme or :path") }
        } else if seen & 7 != 7 {
            return .malformed("the request lacks :method, :scheme or :path")
        }
        return .request(request)
    }

    /// Checks a trailers block: no pseudo-fields, and names and values as in a request's head.
    static func checkTrailers(_ block: HeaderBlock) -> BlockCheck {
        for field in block.fields {
            switch field.kind.role {
            case .pseudo: return .malformed("trailers carry the pseudo-field \(field.name)")
            case .unnamed: return .malformed("a field without a name")
            default: break
            }
            guard field.kind.nameIsValid else {
                return .malformed("the field name \(field.name) is not lower-case token characters")
            }
            guard field.kind.valueIsValid else { return .malformed("the value of \(field.name) has NUL, CR or LF") }
        }
        return .trailers
    }

    /// A field name of token characters (RFC 9110, 5.6.2), none upper case.
    static func isFieldName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            !bytes.isEmpty && bytes.allSatisfy { tokenCharacters[Int($0)] }
        }
    }

    /// A field value without NUL, CR or LF.
    static func isFieldValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            !bytes.contains { $0 == 0 || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        }
    }

    /// A `content-length`: decimal digits only, at most 18 of them.
    static func decimal(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Which bytes may be in a field name sent over HTTP/2: the token characters without the
    /// upper-case letters.
    private static let tokenCharacters: [Bool] = (0..<256).map { byte in
        switch byte {
        case 0x30...0x39, 0x61...0x7A: true
        default: "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    // MARK: Header blocks written

    /// Writes `headers` as an HPACK block (RFC 7541) that leaves the client's dynamic table
    /// alone: `:status` values and names the static table has by index, every other field as a
    /// literal without indexing, no Huffman coding. It costs no table search and no state, which
    /// is how HAProxy encodes too; the block is a few bytes longer than an indexed one.
    static func encode(_ headers: HPACKHeaders, into buffer: inout ByteBuffer) {
        for (name, value, _) in headers {
            if name == ":status", value.utf8.count == 3, let status = Int(value) {
                encodeStatus(status, into: &buffer)
                continue
            }
            encodeField(name, value, into: &buffer)
        }
    }

    /// Writes a field as a literal without indexing (RFC 7541, 6.2.2): the name by its static
    /// index when it has one, else lower-cased.
    static func encodeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                encodeField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value), into: &buffer)
            }
        }
    }

    /// An HPACK integer with an N-bit prefix (RFC 7541, 5.1) after the `flags` bits.
    static func writeInteger(_ value: Int, prefix: Int, flags: UInt8, into buffer: inout ByteBuffer) {
        // At most a prefix byte and ten of 7 bits each for an Int.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 11) { out in
            var at = 0
            putInteger(value, prefix: prefix, flags: flags, into: out, at: &at)
            return at
        }
    }

    /// The static table's index of a field name given as bytes in any case, searched among the
    /// names of its length only. The table's names
    /// are lower-case letters and `-`, so a byte matches when it does with bit 0x20 set (a CR,
    /// the one other byte that would, never is in a parsed name).
    static func staticIndex(ofName name: UnsafeRawBufferPointer) -> UInt8? {
        guard name.count < staticNamesByLength.count else { return nil }
        candidates: for (candidate, index) in staticNamesByLength[name.count] {
            for offset in 0..<name.count where name[offset] | 0x20 != candidate[offset] { continue candidates }
            return index
        }
        return nil
    }

    /// Writes one field (name and value as bytes, the name in any case) as a literal without
    /// indexing: the name by its static index when it has one, else lower-cased. One write into
    /// the buffer's memory.
    static func encodeField(
        name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into buffer: inout ByteBuffer
    ) {
        // Each integer takes at most 1 + 10 bytes (a prefix byte, then 7 bits a byte of an Int).
        let most = 11 + 11 + name.count + value.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: most) { out in
            var at = 0
            if let index = staticIndex(ofName: name) {
                putInteger(Int(index), prefix: 4, flags: 0, into: out, at: &at)
            } else {
                out[at] = 0
                at += 1
                putInteger(name.count, prefix: 7, flags: 0, into: out, at: &at)
                for byte in name {
                    out[at] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                    at += 1
                }
            }
            putInteger(value.count, prefix: 7, flags: 0, into: out, at: &at)
            if let base = value.baseAddress, value.count > 0 {
                (out.baseAddress! + at).copyMemory(from: base, byteCount: value.count)
                at += value.count
            }
            return at
        }
    }

    /// `writeInteger` into memory at `at` (which it moves past the integer); the caller made room.
    private static func putInteger(
        _ value: Int, prefix: Int, flags: UInt8, into out: UnsafeMutableRawBufferPointer, at: inout Int
    ) {
        let limit = (1 << prefix) - 1
        guard value >= limit else {
            out[at] = flags | UInt8(value)
            at += 1
            return
        }
        out[at] = flags | UInt8(limit)
        at += 1
        var rest = value - limit
        while rest >= 128 {
            out[at] = UInt8(rest & 0x7F | 0x80)
            at += 1
            rest >>= 7
        }
        out[at] = UInt8(rest)
        at += 1
    }

    /// Writes `:status` (by its static entry when it has one, else as a literal of three digits).
    static func encodeStatus(_ status: Int, into buffer: inout ByteBuffer) {
        let index: UInt8? =
            switch status {
            case 200: 8
            case 204: 9
            case 206: 10
            case 304: 11
            case 400: 12
            case 404: 13
            case 500: 14
            default: nil
            }
        if let index {
            buffer.writeInteger(0x80 | index)
        } else {
            // `:status` is always three digits (RFC 9113, 8.3.2); the index of its name is 8.
            let digits = min(max(status, 0), 999)
            buffer.writeInteger(UInt8(8))
            buffer.writeInteger(UInt8(3))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(digits / 100))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(digits / 10 % 10))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(digits % 10))
        }
    }

    /// The static table (RFC 7541, appendix A): its fields in index order from 1, each with its
    /// kind.
    static let staticFields: [HeaderBlock.Field] = [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
        ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
        ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
        ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
        ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
        ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
        ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ].map { HeaderBlock.Field(name: $0.0, value: $0.1) }

    private static let staticNamesByLength: [[([UInt8], UInt8)]] = {
        var buckets = [[([UInt8], UInt8)]](repeating: [], count: 32)
        for (offset, field) in staticFields.enumerated() {
            let bytes = Array(field.name.utf8)
            if !buckets[bytes.count].contains(where: { $0.0 == bytes }) {
                buckets[bytes.count].append((bytes, UInt8(offset + 1)))
            }
        }
        return buckets
    }()

    // MARK: Limits

    /// Counts events in a window of time, and says when there were too many of them (NIO's
    /// limits as the router kept them when NIO's handler parsed the frames: 200 resets, 200
    /// stream errors and 200 PING, SETTINGS or PRIORITY frames in 30 seconds).
    struct RateWindow {
        let limit: Int
        let window: TimeAmount
        private var count = 0
        private var start = NIODeadline.uptimeNanoseconds(0)

        init(limit: Int = 200, window: TimeAmount = .seconds(30)) {
            self.limit = limit
            self.window = window
        }

        /// Counts one at `now`; false when that makes more than `limit` in the window.
        mutating func record(at now: NIODeadline) -> Bool {
            if count == 0 || now - start > window {
                start = now
                count = 0
            }
            count += 1
            return count <= limit
        }
    }
}
