import NIOCore
import NIOHPACK

/// A client's decoded header block: its fields in order, each with what the router checks and
/// routes by (`Kind`), worked out when the field was first decoded. A field the client sends by
/// its index in the HPACK table (most of them, after a connection's first request) comes with
/// its kind from the table entry, so the checks of RFC 9113 and the HTTP/1.1 head cost no string
/// comparison and no scan of its bytes.
struct HeaderBlock {
    var fields: [Field]

    /// One field, with its kind and how the client let it be indexed (kept when it is forwarded
    /// over HTTP/2: a never-indexed field stays so, RFC 7541 6.2.3).
    struct Field {
        let name: String
        let value: String
        let kind: Kind
        var indexing: HPACKIndexing = .indexable
        /// Its size in a header list and an HPACK table: its name's and value's bytes and 32
        /// (RFC 7541 4.1).
        let size: Int

        init(name: String, value: String, indexing: HPACKIndexing = .indexable) {
            self.name = name
            self.value = value
            kind = Kind(name: name, value: value)
            self.indexing = indexing
            size = name.utf8.count + value.utf8.count + 32
        }
    }

    /// What a field is to the router, from its name and value alone.
    struct Kind: Equatable {
        var role: Role
        /// A pseudo-field's bit: `:method` 1, `:scheme` 2, `:path` 4, `:authority` 8; 0 for any
        /// other name.
        var pseudoBit: UInt8 = 0
        /// Lower-case token characters (for a regular field).
        var nameIsValid = true
        /// No NUL, CR or LF.
        var valueIsValid = true
        /// `te: trailers`, or a gRPC `content-type` (`application/grpc…`).
        var isSpecialValue = false
        /// A `content-length`'s number; nil when it is not one (or the field is another).
        var length: Int?

        /// The names the router looks at.
        enum Role: UInt8 {
            case other, unnamed, pseudo
            /// `HTTP2Messages.connectionFields`: fields of one HTTP/1.1 connection, which an
            /// HTTP/2 request must not carry.
            case connectionSpecific
            case te, contentLength, contentType, host, cookie, forwardedFor, forwardedProto
        }
    }

    init(fields: [Field] = []) {
        self.fields = fields
    }

    /// The fields of `headers`, each given its kind.
    init(_ headers: HPACKHeaders) {
        fields = headers.map { Field(name: $0.name, value: $0.value, indexing: $0.indexable) }
    }

    /// The block as NIO's type, for the paths that still take it (an HTTP/2 endpoint, trailers).
    var hpackHeaders: HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(fields.count)
        for field in fields { headers.add(name: field.name, value: field.value, indexing: field.indexing) }
        return headers
    }

    /// The value of the first field named `name`.
    func first(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }
}

/// Decodes the header blocks a client sends (RFC 7541) into `HeaderBlock`s. Its dynamic table
/// keeps each entry as the strings and kind it was decoded to, so a field sent by index costs a
/// lookup: no bytes decoded, no string made, nothing checked again. Literal strings are copied
/// as they are, or, when Huffman-coded, decoded by NIO's decoder given that one field (as a
/// literal that is never indexed, so NIO's own table stays empty).
struct HPACKRequestDecoder {
    /// The largest dynamic table the client may use: the size SETTINGS_HEADER_TABLE_SIZE allows
    /// (the router leaves it at its default).
    let maxTableSize: Int
    /// The largest decoded block (SETTINGS_MAX_HEADER_LIST_SIZE): the sizes of its fields, each
    /// its name's and value's bytes and 32 (RFC 7541 4.1).
    let maxListSize: Int
    /// The dynamic table's size now, as the client last set it (at most `maxTableSize`).
    private(set) var tableCapacity: Int
    /// The dynamic table's entries, oldest first from `oldest`: index 62 is the last one.
    private var entries: [HeaderBlock.Field] = []
    private var oldest = 0
    /// The sizes of the entries in the table.
    private(set) var tableSize = 0
    /// Decodes the Huffman-coded strings.
    private var huffman: HPACKDecoder
    /// `HTTP2Wire.staticFields`, held here so that a lookup does not go through the global's lazy
    /// initialization check.
    private let staticFields = HTTP2Wire.staticFields

    /// Why a block could not be decoded: a COMPRESSION_ERROR for the connection.
    struct DecodeError: Error, Equatable {
        let reason: String
    }

    init(maxTableSize: Int = 4096, maxListSize: Int) {
        self.maxTableSize = maxTableSize
        self.maxListSize = maxListSize
        tableCapacity = maxTableSize
        huffman = HPACKDecoder(
            allocator: ByteBufferAllocator(), maxDynamicTableSize: 0, maxHeaderListSize: Int(Int32.max))
    }

    /// The number of entries in the dynamic table.
    var tableCount: Int { entries.count - oldest }

    /// Decodes one whole header block (a HEADERS frame's and its CONTINUATIONs' fragments).
    mutating func decode(_ block: ByteBuffer) throws(DecodeError) -> HeaderBlock {
        try block.withUnsafeReadableBytes { bytes in
            Result { () throws(DecodeError) in try decode(bytes) }
        }.get()
    }

    private mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> HeaderBlock {
        var decoded = HeaderBlock(fields: [])
        decoded.fields.reserveCapacity(8)
        var listSize = 0
        var sizeUpdates = 0
        var at = 0
        while at < bytes.count {
            let first = bytes[at]
            let field: HeaderBlock.Field
            if first & 0x80 != 0 {
                // Indexed (6.1).
                field = try self.field(at: try Self.integer(bytes, &at, prefix: 7))
            } else if first & 0xC0 == 0x40 {
                // Literal with incremental indexing (6.2.1).
                field = try literal(bytes, &at, prefix: 6, indexing: .indexable)
                insert(field)
            } else if first & 0xE0 == 0x20 {
                // Dynamic table size update (6.3): only before the first field, twice at most.
                guard decoded.fields.isEmpty, sizeUpdates < 2 else {
                    throw DecodeError(reason: "a dynamic table size update after a field, or a third one")
                }
                sizeUpdates += 1
                let size = try Self.integer(bytes, &at, prefix: 5)
                guard size <= maxTableSize else {
                    throw DecodeError(reason: "a dynamic table size of \(size), over \(maxTableSize)")
                }
                tableCapacity = size
                evict(toFit: 0)
                continue
            } else {
                // Literal without indexing (6.2.2) or never indexed (6.2.3).
                field = try literal(bytes, &at, prefix: 4, indexing: first & 0x10 != 0 ? .neverIndexed : .nonIndexable)
            }
            listSize += field.size
            guard listSize <= maxListSize else {
                throw DecodeError(reason: "a header list over \(maxListSize) bytes")
            }
            decoded.fields.append(field)
        }
        return decoded
    }

    /// The field at `index` of the static table then the dynamic one.
    private func field(at index: Int) throws(DecodeError) -> HeaderBlock.Field {
        if index >= 1, index <= staticFields.count { return staticFields[index - 1] }
        let dynamic = index - staticFields.count
        guard index > 0, dynamic <= tableCount else { throw DecodeError(reason: "no table entry \(index)") }
        return entries[entries.count - dynamic]
    }

    /// A literal field (6.2): its name by index (`prefix` bits) or as a string, then its value.
    private mutating func literal(
        _ bytes: UnsafeRawBufferPointer, _ at: inout Int, prefix: Int, indexing: HPACKIndexing
    ) throws(DecodeError) -> HeaderBlock.Field {
        let nameIndex = try Self.integer(bytes, &at, prefix: prefix)
        let knownName = nameIndex == 0 ? nil : try field(at: nameIndex).name
        let nameStart = at
        if knownName == nil { try Self.skipString(bytes, &at) }
        let valueStart = at
        try Self.skipString(bytes, &at)
        let nameIsHuffman = knownName == nil && bytes[nameStart] & 0x80 != 0
        let name: String
        let value: String
        if nameIsHuffman || bytes[valueStart] & 0x80 != 0 {
            (name, value) = try decodeHuffman(
                name: knownName, nameBytes: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<valueStart]),
                valueBytes: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<at]))
        } else {
            name = knownName ?? Self.rawString(bytes, from: nameStart)
            value = Self.rawString(bytes, from: valueStart)
        }
        return HeaderBlock.Field(name: name, value: value, indexing: indexing)
    }

    /// Decodes a literal whose name or value is Huffman-coded: NIO's decoder reads the two
    /// strings as they came, as one field never indexed (the name given as a plain string when
    /// it came by index).
    private mutating func decodeHuffman(
        name: String?, nameBytes: UnsafeRawBufferPointer, valueBytes: UnsafeRawBufferPointer
    ) throws(DecodeError) -> (String, String) {
        var one = ByteBuffer()
        one.writeInteger(UInt8(0x10))
        if let name {
            HTTP2Wire.writeInteger(name.utf8.count, prefix: 7, flags: 0, into: &one)
            one.writeString(name)
        } else {
            one.writeBytes(nameBytes)
        }
        one.writeBytes(valueBytes)
        guard let decoded = try? huffman.decodeHeaders(from: &one), decoded.count == 1, let field = decoded.first else {
            throw DecodeError(reason: "a Huffman-coded string that does not decode")
        }
        return (field.name, field.value)
    }

    /// Adds an entry (4.4): the oldest go until it fits; an entry larger than the whole table
    /// empties it and is not added.
    private mutating func insert(_ field: HeaderBlock.Field) {
        let size = field.size
        evict(toFit: size)
        guard size <= tableCapacity else { return }
        var entry = field
        entry.indexing = .indexable
        entries.append(entry)
        tableSize += size
    }

    /// Drops the oldest entries until `size` more bytes fit in the table's capacity.
    private mutating func evict(toFit size: Int) {
        while tableSize + size > tableCapacity, oldest < entries.count {
            tableSize -= entries[oldest].size
            oldest += 1
        }
        if oldest == entries.count {
            entries.removeAll(keepingCapacity: true)
            oldest = 0
        } else if oldest >= 32, oldest * 2 >= entries.count {
            entries.removeFirst(oldest)
            oldest = 0
        }
    }

    /// An HPACK integer (5.1) with a `prefix`-bit prefix, at most 2^28 (no header is that long).
    static func integer(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, prefix: Int) throws(DecodeError) -> Int {
        guard at < bytes.count else { throw DecodeError(reason: "a block cut short") }
        let mask = (1 << prefix) - 1
        var value = Int(bytes[at]) & mask
        at += 1
        guard value == mask else { return value }
        var shift = 0
        while true {
            guard at < bytes.count else { throw DecodeError(reason: "a block cut short") }
            let byte = bytes[at]
            at += 1
            // Four bytes of 7 bits reach 2^28; a fifth could only shift bits out (or make the
            // value negative), whatever it holds.
            guard shift <= 21 else { throw DecodeError(reason: "an integer over 2^28") }
            value += Int(byte & 0x7F) << shift
            shift += 7
            guard value < 1 << 28 else { throw DecodeError(reason: "an integer over 2^28") }
            if byte & 0x80 == 0 { return value }
        }
    }

    /// Moves past a string literal (5.2), checking that all of it is there.
    private static func skipString(_ bytes: UnsafeRawBufferPointer, _ at: inout Int) throws(DecodeError) {
        let length = try integer(bytes, &at, prefix: 7)
        guard length <= bytes.count - at else { throw DecodeError(reason: "a string cut short") }
        at += length
    }

    /// The plain string literal that starts at `start`.
    private static func rawString(_ bytes: UnsafeRawBufferPointer, from start: Int) -> String {
        var at = start
        let length = (try? integer(bytes, &at, prefix: 7)) ?? 0
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + length)]), as: UTF8.self)
    }
}

extension HeaderBlock.Kind {
    /// The kind of a field named `name` with `value`.
    init(name: String, value: String) {
        valueIsValid = HTTP2Wire.isFieldValue(value)
        guard let first = name.utf8.first else {
            role = .unnamed
            nameIsValid = false
            return
        }
        if first == UInt8(ascii: ":") {
            role = .pseudo
            pseudoBit = Self.pseudoFieldBit(name)
            return
        }
        nameIsValid = HTTP2Wire.isFieldName(name)
        if HTTP2Messages.connectionFields.contains(name) {
            role = .connectionSpecific
            return
        }
        switch name {
        case "te":
            role = .te
            isSpecialValue = value == "trailers"
        case "content-length":
            role = .contentLength
            length = HTTP2Wire.decimal(value)
        case "content-type":
            role = .contentType
            isSpecialValue = value.hasPrefix("application/grpc")
        case "host": role = .host
        case "cookie": role = .cookie
        case "x-forwarded-for": role = .forwardedFor
        case "x-forwarded-proto": role = .forwardedProto
        default: role = .other
        }
    }

    private static func pseudoFieldBit(_ name: String) -> UInt8 {
        switch name {
        case ":method": 1
        case ":scheme": 2
        case ":path": 4
        case ":authority": 8
        default: 0
        }
    }
}
