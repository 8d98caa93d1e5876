/// Gob's decoder for one stream direction (Go's `gob.Decoder`), decoding any value into `GobValue`
/// with the type definitions the stream itself carries.
///
/// Feed it the stream's messages in order (`GobFraming.nextMessage` splits them off). A value
/// usually takes one message, after any type-definition messages; but an interface value whose
/// concrete type is new spans several (Go sends the definitions from inside the value), so the
/// decoder holds on to the messages of a value until it has them all.
public struct GobDecoder: Sendable {
    private var types: [Int: GobWireType] = [:]
    /// The messages of a value still incomplete.
    private var pending: [[UInt8]] = []

    /// The most messages one value may take (each new type inside an interface value takes one).
    static let maximumPendingMessages = 10_000

    /// A fresh decoder, for a fresh stream.
    public init() {}

    /// Decodes one message body (without its length prefix). Returns the value once its last
    /// message is in; nil for a type-definition message (remembered) or a value still incomplete.
    /// After a throw the partly received value is dropped; type definitions already taken stay.
    public mutating func decode(message: [UInt8]) throws -> GobValue? {
        if pending.isEmpty, try takeTypeDefinition(message) { return nil }
        guard pending.count < Self.maximumPendingMessages else {
            pending = []
            throw GobError("a value spans more than \(Self.maximumPendingMessages) messages")
        }
        pending.append(message)
        var reader = GobReader(messages: pending, types: types)
        do {
            let value = try reader.readTopLevelValue()
            types = reader.types
            pending = []
            return value
        } catch is GobReader.NeedsMoreMessages {
            return nil
        } catch {
            pending = []
            throw error
        }
    }

    /// Takes `message` if it is a type definition: a negative type id, a `wireType`, nothing more.
    private mutating func takeTypeDefinition(_ message: [UInt8]) throws -> Bool {
        var reader = GobReader(messages: [message], types: types)
        guard try reader.readTypeIdOrDefinition() else { return false }
        types = reader.types
        return true
    }
}

/// Reads values from the messages of one top-level value (Go's `decoderState` over `decBuffer`).
struct GobReader {
    /// Thrown where Go's decoder would read the next message from its stream.
    struct NeedsMoreMessages: Error {}

    /// How deeply values may nest (Go's types from a peer may be recursive).
    static let maximumDepth = 200

    private let messages: [[UInt8]]
    private var index = 0
    private var offset = 0
    private(set) var types: [Int: GobWireType]
    private var path: [String] = []
    private var depth = 0

    init(messages: [[UInt8]], types: [Int: GobWireType]) {
        self.messages = messages
        self.types = types
    }

    private var remaining: Int { messages[index].count - offset }

    private var atEndOfMessage: Bool { remaining <= 0 }

    // MARK: Top level (Go's Decoder.DecodeValue and decodeTypeSequence)

    /// If the message is a type definition, reads it whole and returns true; false for a value.
    mutating func readTypeIdOrDefinition() throws -> Bool {
        guard !atEndOfMessage else { throw GobError("empty message") }
        let id = try readInt("the type id")
        guard id < 0 else { return false }
        try readTypeDefinition(id)
        guard atEndOfMessage else { throw GobError("\(remaining) bytes of extra data after type definition \(-id)") }
        return true
    }

    /// The value the messages hold: a type id, then the value; nothing may be left over.
    mutating func readTopLevelValue() throws -> GobValue {
        let id = try readInt("the type id")
        guard id > 0 else { throw GobError("a message starts with type id \(id), which is not a value's") }
        let typeId = try checkedTypeId(id)
        path = [typeName(typeId)]
        let value = try readValue(typeId)
        guard index == messages.count - 1, atEndOfMessage else {
            throw failure("\(remaining) bytes of extra data after the value")
        }
        return value
    }

    /// Go's `decodeValue`: a struct, or a singleton (field delta 0, then the value).
    private mutating func readValue(_ typeId: Int) throws -> GobValue {
        guard typeId <= GobTypeId.interface || types[typeId] != nil else { throw unknownType(typeId) }
        if case .structure(let fields)? = types[typeId]?.kind {
            return try readStruct(fields, typeName(typeId))
        }
        let delta = try readUint("the singleton's field delta")
        guard delta == 0 else { throw failure("corrupted data: non-zero delta \(delta) before a single value") }
        return try readField(typeId)
    }

    // MARK: Values (Go's decode ops)

    /// A value of type `typeId` where a struct field, element or singleton is.
    private mutating func readField(_ typeId: Int) throws -> GobValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw failure("values nest deeper than \(Self.maximumDepth) levels") }
        switch typeId {
        case GobTypeId.bool: return .bool(try readUint("a bool") != 0)
        case GobTypeId.int: return .int(try readInt("an int"))
        case GobTypeId.uint: return .uint(try readUint("a uint"))
        case GobTypeId.float: return .float(Double(bitPattern: try readUint("a float").byteSwapped))
        case GobTypeId.bytes: return .bytes(try readCounted("a []byte"))
        case GobTypeId.string: return .string(String(decoding: try readCounted("a string"), as: UTF8.self))
        case GobTypeId.complex: throw failure("complex numbers are not supported")
        case GobTypeId.interface: return try readInterface()
        default: break
        }
        guard let wire = types[typeId] else { throw unknownType(typeId) }
        switch wire.kind {
        case .array(let elem, let count):
            let length = try readUint("an array's length")
            guard length == UInt64(count) else {
                throw failure("array \(wire.name) has length \(count), but \(length) elements were sent")
            }
            return .list(try readElements(length, elem))
        case .slice(let elem):
            return .list(try readElements(try readUint("a slice's length"), elem))
        case .map(let key, let elem):
            return .map(try readEntries(try readUint("a map's length"), key: key, elem: elem))
        case .structure(let fields):
            return try readStruct(fields, wire.name)
        case .external:
            return .encoded(try readCounted("the bytes of a \(wire.name.isEmpty ? "GobEncoder" : wire.name)"))
        }
    }

    private mutating func readElements(_ count: UInt64, _ elem: Int) throws -> [GobValue] {
        var items: [GobValue] = []
        var index: UInt64 = 0
        while index < count {
            // Every element takes at least a byte, so a bad count cannot make this loop long.
            guard !atEndOfMessage else { throw failure("the message ends after \(index) of \(count) elements") }
            path.append("[\(index)]")
            items.append(try readField(elem))
            path.removeLast()
            index += 1
        }
        return items
    }

    private mutating func readEntries(_ count: UInt64, key: Int, elem: Int) throws -> [(GobValue, GobValue)] {
        var entries: [(GobValue, GobValue)] = []
        var index: UInt64 = 0
        while index < count {
            guard !atEndOfMessage else { throw failure("the message ends after \(index) of \(count) map entries") }
            path.append("[key \(index)]")
            let key = try readField(key)
            path[path.count - 1] = "[value \(index)]"
            entries.append((key, try readField(elem)))
            path.removeLast()
            index += 1
        }
        return entries
    }

    /// Go's `decodeStruct`: field deltas and values until a zero delta (or the message's end).
    private mutating func readStruct(_ fields: [GobWireType.Field], _ name: String) throws -> GobValue {
        var values: [String: GobValue] = [:]
        var number = -1
        while let field = try nextField(&number, count: fields.count, of: name) {
            let wireField = fields[field]
            path.append("." + wireField.name)
            values[wireField.name] = try readField(wireField.id)
            path.removeLast()
        }
        return .structure(values)
    }

    /// Go's `decodeInterface`: a name ("" for nil), the concrete type's id (after any definitions),
    /// the value's length (unused, as in Go), and the value.
    private mutating func readInterface() throws -> GobValue {
        let length = try readUint("an interface's type name length")
        guard length <= 1024 else { throw failure("interface type name of \(length) bytes is too long") }
        let name = String(decoding: try readBytes(Int(length), "an interface's type name"), as: UTF8.self)
        guard !name.isEmpty else { return .nilInterface }
        path.append(".(\(name))")
        defer { path.removeLast() }
        let typeId = try readInterfaceTypeSequence()
        _ = try readUint("an interface value's length")
        let value = try readValue(typeId)
        return .interface(name: name, type: try describe(typeId, within: []), value: value)
    }

    /// Go's `decodeTypeSequence(isInterface: true)`: type definitions, possibly continuing in the
    /// next messages, then the id of the concrete type.
    private mutating func readInterfaceTypeSequence() throws -> Int {
        while true {
            if atEndOfMessage {
                guard index + 1 < messages.count else { throw NeedsMoreMessages() }
                index += 1
                offset = 0
            }
            let id = try readInt("an interface value's type id")
            if id >= 0 { return try checkedTypeId(id) }
            try readTypeDefinition(id)
            // Inside a buffered interface value, the next part's length follows; Go skips it.
            if !atEndOfMessage { _ = try readUint("the length of an interface value's next part") }
        }
    }

    // MARK: Type definitions (Go's wireType)

    /// Reads the `wireType` after `negativeId` and remembers it under that id.
    private mutating func readTypeDefinition(_ negativeId: Int64) throws {
        guard negativeId >= -Int64(Int32.max) else { throw GobError("type id \(negativeId) is out of range") }
        let id = Int(-negativeId)
        guard id >= GobTypeId.firstUser else { throw GobError("type definition for reserved id \(id)") }
        guard types[id] == nil else { throw GobError("type id \(id) is defined twice") }
        let saved = path
        path = ["type definition \(id)"]
        defer { path = saved }
        var wire: GobWireType?
        var number = -1
        while let field = try nextField(&number, count: 7, of: "wireType") {
            guard wire == nil else { throw failure("it describes more than one type") }
            wire = try readWireType(field, id: id)
        }
        guard let wire else { throw failure("it describes no type") }
        types[id] = wire
    }

    /// The `wireType` field `field`: ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT or
    /// TextMarshalerT.
    private mutating func readWireType(_ field: Int, id: Int) throws -> GobWireType {
        var name = ""
        var ids: [Int: Int] = [:]  // arrayType.Elem/Len, sliceType.Elem, mapType.Key/Elem by field number
        var fields: [GobWireType.Field] = []
        let fieldCount = [0: 3, 1: 2, 2: 2, 3: 3][field] ?? 1
        var number = -1
        while let inner = try nextField(&number, count: fieldCount, of: "a type definition") {
            if inner == 0 {
                name = try readCommonTypeName()
            } else if field == 2 {
                fields = try readFieldTypes()
            } else {
                ids[inner] = Int(truncatingIfNeeded: try readInt("a type definition's element"))
            }
        }
        let kind: GobWireType.Kind
        switch field {
        case 0: kind = .array(elem: ids[1] ?? 0, count: ids[2] ?? 0)
        case 1: kind = .slice(elem: ids[1] ?? 0)
        case 2: kind = .structure(fields: fields)
        case 3: kind = .map(key: ids[1] ?? 0, elem: ids[2] ?? 0)
        default:
            guard let external = GobExternalKind(rawValue: field) else { throw failure("unknown kind \(field)") }
            kind = .external(external)
        }
        return GobWireType(name: name, id: id, kind: kind)
    }

    /// Go's `CommonType{Name, Id}`; the id is Go's own bookkeeping and not needed.
    private mutating func readCommonTypeName() throws -> String {
        var name = ""
        var number = -1
        while let field = try nextField(&number, count: 2, of: "CommonType") {
            if field == 0 {
                name = String(decoding: try readCounted("a type name"), as: UTF8.self)
            } else {
                _ = try readInt("a type id")
            }
        }
        return name
    }

    /// A struct type's `[]*fieldType{Name, Id}`.
    private mutating func readFieldTypes() throws -> [GobWireType.Field] {
        let count = try readUint("a struct type's field count")
        var fields: [GobWireType.Field] = []
        var index: UInt64 = 0
        while index < count {
            guard !atEndOfMessage else { throw failure("the message ends after \(index) of \(count) fields") }
            var field = GobWireType.Field(name: "", id: 0)
            var number = -1
            while let part = try nextField(&number, count: 2, of: "fieldType") {
                if part == 0 {
                    field.name = String(decoding: try readCounted("a field name"), as: UTF8.self)
                } else {
                    field.id = Int(truncatingIfNeeded: try readInt("a field's type id"))
                }
            }
            fields.append(field)
            index += 1
        }
        return fields
    }

    // MARK: Describing types (for interface values)

    /// The `GobType` a type id stands for; a recursive type's inner mention of itself has no parts.
    private func describe(_ typeId: Int, within outer: Set<Int>) throws -> GobType {
        switch typeId {
        case GobTypeId.bool: return .bool
        case GobTypeId.int: return .int
        case GobTypeId.uint: return .uint
        case GobTypeId.float: return .float
        case GobTypeId.bytes: return .bytes
        case GobTypeId.string: return .string
        case GobTypeId.interface: return .interface
        default: break
        }
        guard let wire = types[typeId] else { throw unknownType(typeId) }
        if outer.contains(typeId) { return .structure(name: wire.name, fields: []) }
        let within = outer.union([typeId])
        switch wire.kind {
        case .array(let elem, let count): return .array(try describe(elem, within: within), count: count)
        case .slice(let elem): return .slice(try describe(elem, within: within))
        case .map(let key, let elem):
            return .map(key: try describe(key, within: within), value: try describe(elem, within: within))
        case .structure(let fields):
            let described = try fields.map { GobField($0.name, try describe($0.id, within: within)) }
            return .structure(name: wire.name, fields: described)
        case .external(.gobEncoder): return .gobEncoder(name: wire.name)
        case .external(.binaryMarshaler): return .binaryMarshaler(name: wire.name)
        case .external(.textMarshaler): return .textMarshaler(name: wire.name)
        }
    }

    private func typeName(_ typeId: Int) -> String {
        if let wire = types[typeId] { return wire.name.isEmpty ? "type \(typeId)" : wire.name }
        return (try? describe(typeId, within: []))?.goString ?? "type \(typeId)"
    }

    // MARK: Primitives

    /// The next field number of a struct with `count` fields, or nil at its end.
    private mutating func nextField(_ number: inout Int, count: Int, of name: String) throws -> Int? {
        guard !atEndOfMessage else { return nil }
        let delta = try readUint("a field delta")
        guard delta != 0 else { return nil }
        guard delta <= UInt64(count), number + Int(delta) < count else {
            throw failure("field delta \(delta) after field \(number) is past the \(count) fields of \(name)")
        }
        number += Int(delta)
        return number
    }

    private mutating func readByte(_ what: String) throws -> UInt8 {
        guard !atEndOfMessage else { throw failure("the message ends where \(what) should be") }
        let byte = messages[index][offset]
        offset += 1
        return byte
    }

    /// Gob's unsigned integer.
    private mutating func readUint(_ what: String) throws -> UInt64 {
        let first = try readByte(what)
        if first <= 0x7F { return UInt64(first) }
        let count = 256 - Int(first)
        guard count <= 8 else { throw failure("malformed integer (byte 0x\(String(first, radix: 16))) in \(what)") }
        return try readBytes(count, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Gob's signed integer.
    private mutating func readInt(_ what: String) throws -> Int64 {
        let bits = try readUint(what)
        let magnitude = Int64(bitPattern: bits >> 1)
        return bits & 1 == 0 ? magnitude : ~magnitude
    }

    private mutating func readBytes(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw failure("the message ends inside \(what) (\(count) bytes needed, \(remaining) left)")
        }
        defer { offset += count }
        return messages[index][offset..<offset + count]
    }

    /// A length, then that many bytes (a string or []byte).
    private mutating func readCounted(_ what: String) throws -> [UInt8] {
        let length = try readUint("the length of \(what)")
        guard length <= UInt64(remaining) else {
            throw failure("the message ends inside \(what) (\(length) bytes needed, \(remaining) left)")
        }
        return Array(try readBytes(Int(length), what))
    }

    private func checkedTypeId(_ id: Int64) throws -> Int {
        guard id <= Int64(Int32.max) else { throw failure("type id \(id) is out of range") }
        return Int(id)
    }

    private func unknownType(_ typeId: Int) -> GobError {
        failure("unknown type id \(typeId) (no definition for it was received)")
    }

    private func failure(_ message: String) -> GobError {
        GobError(path.isEmpty ? message : "decoding \(path.joined()): \(message)")
    }
}
