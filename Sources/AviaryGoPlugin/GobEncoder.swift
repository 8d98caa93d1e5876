/// Gob's encoder for one stream direction (Go's `gob.Encoder`): it sends each type's definition
/// once, the first time a value of that type goes out, so one encoder must serve a whole stream.
///
/// Type ids are given as a Go process that starts with this encoder gives them (from 65, in the
/// order Go registers types), and type definitions go out in Go's order, so the bytes are Go's.
public struct GobEncoder: Sendable {
    private var registry = GobTypeRegistry()
    /// Go's `Encoder.sent`: the id each type was sent (or is known) as.
    private var sent: [GobType: Int] = [:]

    /// A fresh encoder, for a fresh stream.
    public init() {}

    /// The bytes of one Go `Encoder.Encode(value)`: the definitions of types not sent before, then
    /// the value, each message length-prefixed, as Go writes them. `type` describes `value`; top-level
    /// non-struct values are sent as gob singletons. On a throw nothing is remembered as sent.
    public mutating func encode(_ value: GobValue, as type: GobType) throws -> [UInt8] {
        let session = GobEncodingSession(registry: registry, sent: sent)
        let bytes = try session.encodeTopLevel(value, as: type)
        registry = session.registry
        sent = session.sent
        return bytes
    }
}

// MARK: - Go's view of a type

extension GobType {
    /// Go's `userTypeInfo.base`: the type under its pointers.
    var base: GobType {
        if case .pointer(let pointee) = self { pointee.base } else { self }
    }

    /// The type under its `.named` spellings.
    var underlying: GobType {
        if case .named(_, let type) = self { type.underlying } else { self }
    }

    /// Go's `userTypeInfo.externalEnc`: how values of the type encode themselves, if they do.
    var externalKind: GobExternalKind? {
        switch base.underlying {
        case .gobEncoder: .gobEncoder
        case .binaryMarshaler: .binaryMarshaler
        case .textMarshaler: .textMarshaler
        default: nil
        }
    }

    /// Go's `reflect.Type.Name()`: a defined type's name without its package; "" for unnamed types.
    var goName: String {
        switch self {
        case .bool: "bool"
        case .int: "int"
        case .uint: "uint"
        case .float: "float64"
        case .string: "string"
        case .bytes, .interface, .slice, .array, .map, .pointer: ""
        case .structure(let name, _), .gobEncoder(let name, _), .binaryMarshaler(let name, _),
            .textMarshaler(let name, _):
            Self.unqualified(name)
        case .named(let name, _): name.contains(where: { "[]*(){} ".contains($0) }) ? "" : Self.unqualified(name)
        }
    }

    /// Go's `reflect.Type.String()`.
    var goString: String {
        switch self {
        case .bool, .int, .uint, .float, .string: goName
        case .bytes: "[]uint8"
        case .interface: "interface {}"
        case .slice(let elem): "[]" + elem.goString
        case .array(let elem, let count): "[\(count)]" + elem.goString
        case .map(let key, let value): "map[\(key.goString)]\(value.goString)"
        case .pointer(let pointee): "*" + pointee.goString
        case .structure(let name, _), .gobEncoder(let name, _), .binaryMarshaler(let name, _),
            .textMarshaler(let name, _), .named(let name, _):
            name
        }
    }

    /// The types Go's encoder sends definitions for after this type's own (`sendActualType`).
    var componentTypes: [GobType] {
        switch self {
        case .structure(_, let fields), .gobEncoder(_, let fields), .binaryMarshaler(_, let fields),
            .textMarshaler(_, let fields):
            fields.map(\.type)
        case .slice(let elem), .array(let elem, _): [elem]
        case .map(let key, let value): [key, value]
        default: []
        }
    }

    private static func unqualified(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? name
    }
}

// MARK: - Type ids (Go's type.go)

/// Go's process-wide type tables (`types`, `idToType`, `typeInfoMap`), here one per encoder.
struct GobTypeRegistry: Sendable {
    /// What a value's type is sent as: its id, and the definition to send (nil for basic types).
    struct TypeInfo: Sendable {
        var id: Int
        var wire: GobWireType?
    }

    private var ids: [GobType: Int] = [:]
    private var definitions: [Int: GobWireType] = [:]
    private var infos: [GobType: TypeInfo] = [:]
    private var lastId = GobTypeId.firstUser - 1

    /// Go's `getTypeInfo`: registers `user` (and the types it is made of) if it is new.
    mutating func typeInfo(for user: GobType) throws -> TypeInfo {
        let key = user.externalKind == nil ? user.base : user
        if let info = infos[key] { return info }
        let id = try baseTypeId(named: key.goName, key)
        var info = TypeInfo(id: id, wire: definitions[id])
        if user.externalKind != nil {
            // Go registers the type the value came as (say `*metav1.Time`) as well as its base type;
            // for a pointer that is one more id, which the definition sent carries.
            info.wire = definitions[try typeId(named: key.goName, user: user, key)]
        }
        infos[key] = info
        return info
    }

    /// Go's `getBaseType`.
    private mutating func baseTypeId(named name: String, _ type: GobType) throws -> Int {
        try typeId(named: name, user: type, type.base)
    }

    /// Go's `getType`.
    private mutating func typeId(named name: String, user: GobType, _ type: GobType) throws -> Int {
        if let id = ids[type] { return id }
        let id = try newTypeObject(named: name, user: user, type)
        ids[type] = id
        return id
    }

    /// Go's `newTypeObject`: ids of composite types are given after their elements', those of
    /// structs before their fields'.
    private mutating func newTypeObject(named name: String, user: GobType, _ type: GobType) throws -> Int {
        if let external = user.externalKind { return define(name, .external(external)) }
        switch type.underlying {
        case .bool: return GobTypeId.bool
        case .int: return GobTypeId.int
        case .uint: return GobTypeId.uint
        case .float: return GobTypeId.float
        case .string: return GobTypeId.string
        case .bytes: return GobTypeId.bytes
        case .interface: return GobTypeId.interface
        case .array(let elem, let count):
            guard count >= 0 else { throw GobError("array type \(type.goString) has a negative length") }
            return define(name, .array(elem: try baseTypeId(named: "", elem), count: count))
        case .map(let key, let value):
            let keyId = try baseTypeId(named: "", key)
            return define(name, .map(key: keyId, elem: try baseTypeId(named: "", value)))
        case .slice(let elem):
            return define(name, .slice(elem: try baseTypeId(named: elem.goName, elem)))
        case .structure(_, let fields):
            let id = allocateId()
            ids[type] = id
            var wireFields: [GobWireType.Field] = []
            for field in fields {
                guard !field.name.isEmpty else { throw GobError("struct \(type.goString) has a field with no name") }
                let base = field.type.base
                let typeName = base.goName.isEmpty ? base.goString : base.goName
                wireFields.append(.init(name: field.name, id: try baseTypeId(named: typeName, field.type)))
            }
            definitions[id] = GobWireType(name: name, id: id, kind: .structure(fields: wireFields))
            return id
        case .pointer, .named, .gobEncoder, .binaryMarshaler, .textMarshaler:
            throw GobError("cannot encode type \(type.goString) (a named pointer type?)")
        }
    }

    private mutating func define(_ name: String, _ kind: GobWireType.Kind) -> Int {
        let id = allocateId()
        definitions[id] = GobWireType(name: name, id: id, kind: kind)
        return id
    }

    private mutating func allocateId() -> Int {
        lastId += 1
        return lastId
    }
}

// MARK: - Encoding (Go's encoder.go and encode.go)

/// The work of one `Encode` call. A class because, as in Go, buffers and the writer stack are shared
/// between the functions below; the encoder keeps the tables only once the call has succeeded.
final class GobEncodingSession {
    /// Go's `encoderState`: where the current struct, array, map or singleton is being written.
    struct State {
        let sink: GobSink
        var sendZero = false
        var fieldNumber: Int

        /// Go's `encoderState.update`: the field's delta, unless encoding elements (no field number).
        mutating func update(_ field: Int?) {
            guard let field else { return }
            sink.uint(UInt64(field - fieldNumber))
            fieldNumber = field
        }
    }

    private(set) var registry: GobTypeRegistry
    private(set) var sent: [GobType: Int]
    /// Go's `Encoder.w`: where type definitions go; an interface value pushes its own buffer.
    private var writers: [GobSink] = []
    /// Where in the value the encoder is, for error messages.
    private var path: [String] = []

    init(registry: GobTypeRegistry, sent: [GobType: Int]) {
        self.registry = registry
        self.sent = sent
    }

    /// Go's `Encoder.EncodeValue`.
    func encodeTopLevel(_ value: GobValue, as type: GobType) throws -> [UInt8] {
        let output = GobSink()
        writers = [output]
        path = [type.goString]
        let buffer = GobSink()
        var state = State(sink: buffer, fieldNumber: 0)
        try sendTypeDescriptor(to: output, &state, type)
        try sendTypeId(&state, type)
        try encode(value, as: type, into: buffer)
        writeMessage(to: output, from: buffer)
        return output.bytes
    }

    // MARK: Type definitions

    /// Go's `sendTypeDescriptor`.
    private func sendTypeDescriptor(to writer: GobSink, _ state: inout State, _ type: GobType) throws {
        let key = type.externalKind == nil ? type.base : type
        guard sent[key] == nil else { return }
        if try !sendType(to: writer, &state, key) {
            // A basic type (int, []byte, ...) has no definition to send.
            sent[key] = try registry.typeInfo(for: type).id
        }
    }

    /// Go's `sendType`: sends the definition if the type has one to send.
    private func sendType(to writer: GobSink, _ state: inout State, _ type: GobType) throws -> Bool {
        if type.externalKind != nil { return try sendActualType(to: writer, &state, type) }
        switch type.base.underlying {
        case .slice, .array, .map, .structure: return try sendActualType(to: writer, &state, type)
        default: return false
        }
    }

    /// Go's `sendActualType`: the definition as its own message (flushing whatever `state` holds,
    /// as Go does), then those of the types it is made of.
    private func sendActualType(to writer: GobSink, _ state: inout State, _ user: GobType) throws -> Bool {
        let actual = user.base
        guard sent[actual] == nil else { return false }
        let info = try registry.typeInfo(for: user)
        guard let wire = info.wire else { throw failure("type \(user.goString) has no gob definition") }
        state.sink.int(-Int64(info.id))
        wire.write(to: state.sink)
        writeMessage(to: writer, from: state.sink)
        sent[actual] = info.id
        if user != actual { sent[user] = info.id }
        for component in actual.underlying.componentTypes {
            _ = try sendType(to: writer, &state, component)
        }
        return true
    }

    /// Go's `sendTypeId`.
    private func sendTypeId(_ state: inout State, _ type: GobType) throws {
        guard let id = sent[type.base] else { throw failure("type \(type.goString) was not sent") }
        state.sink.int(Int64(id))
    }

    /// Go's `writeMessage`: `buffer` as a length-prefixed message on `writer`; `buffer` is emptied.
    private func writeMessage(to writer: GobSink, from buffer: GobSink) {
        writer.counted(buffer.bytes)
        buffer.bytes.removeAll(keepingCapacity: true)
    }

    // MARK: Values

    /// Go's `Encoder.encode`: a struct, or a singleton (field delta 0, zero values sent).
    private func encode(_ value: GobValue?, as type: GobType, into sink: GobSink) throws {
        if type.externalKind == nil, case .structure(_, let fields) = type.base.underlying {
            try encodeStruct(value, fields: fields, as: type, into: sink)
        } else {
            var state = State(sink: sink, sendZero: true, fieldNumber: 0)
            try encodeOp(0, &state, value, type)
        }
    }

    /// Go's `encodeStruct`: fields with zero values (absent ones, and nil pointers) are left out.
    private func encodeStruct(_ value: GobValue?, fields: [GobField], as type: GobType, into sink: GobSink) throws {
        let given: [String: GobValue]
        switch value {
        case nil: given = [:]
        case .structure(let values)?: given = values
        case let other?: throw mismatch("a .structure", type, other)
        }
        for name in given.keys.sorted() where !fields.contains(where: { $0.name == name }) {
            throw failure("\(type.goString) has no field \(name)")
        }
        var state = State(sink: sink, fieldNumber: -1)
        for (number, field) in fields.enumerated() {
            let fieldValue = given[field.name]
            if fieldValue == nil, case .pointer = field.type { continue }
            path.append("." + field.name)
            defer { path.removeLast() }
            try encodeOp(number, &state, fieldValue, field.type)
        }
        sink.uint(0)
    }

    /// Go's per-type encoding ops. `value` nil is the Go zero value; `field` nil inside arrays and maps.
    private func encodeOp(_ field: Int?, _ state: inout State, _ value: GobValue?, _ type: GobType) throws {
        switch type {
        case .pointer(let pointee):
            guard let value else { throw failure("nil pointer (\(type.goString)) where Go cannot send one") }
            try encodeOp(field, &state, value, pointee)
        case .named(_, let underlying):
            try encodeOp(field, &state, value, underlying)
        case .bool:
            let bool = try boolValue(value, type)
            if bool || state.sendZero {
                state.update(field)
                state.sink.uint(bool ? 1 : 0)
            }
        case .int:
            let int = try intValue(value, type)
            if int != 0 || state.sendZero {
                state.update(field)
                state.sink.int(int)
            }
        case .uint:
            let uint = try uintValue(value, type)
            if uint != 0 || state.sendZero {
                state.update(field)
                state.sink.uint(uint)
            }
        case .float:
            let float = try floatValue(value, type)
            if float != 0 || state.sendZero {
                state.update(field)
                state.sink.uint(float.bitPattern.byteSwapped)
            }
        case .string, .bytes:
            let bytes = try stringOrBytes(value, type)
            if !bytes.isEmpty || state.sendZero {
                state.update(field)
                state.sink.counted(bytes)
            }
        case .interface:
            try encodeInterfaceOp(field, &state, value)
        case .slice, .array, .map, .structure:
            try encodeCompositeOp(field, &state, value, type)
        case .gobEncoder, .binaryMarshaler, .textMarshaler:
            guard let value else {
                if state.sendZero { throw failure("no value for \(type.goString)") }
                return
            }
            let bytes = try encodedBytes(value, type)
            state.update(field)
            state.sink.counted(bytes)
        }
    }

    private func encodeInterfaceOp(_ field: Int?, _ state: inout State, _ value: GobValue?) throws {
        let isNil = value == nil || value == .nilInterface
        if isNil && !state.sendZero { return }
        state.update(field)
        try encodeInterface(isNil ? nil : value, into: state.sink)
    }

    /// Slices (left out when empty), arrays (always sent), maps (left out when absent) and structs
    /// (always sent, as Go does for a non-pointer struct field).
    private func encodeCompositeOp(_ field: Int?, _ state: inout State, _ value: GobValue?, _ type: GobType) throws {
        switch type {
        case .slice(let elem):
            let items = try listValue(value, type) ?? []
            if items.isEmpty && !state.sendZero { return }
            state.update(field)
            try encodeArray(items, elem, into: state.sink)
        case .array(let elem, let count):
            let items = try listValue(value, type) ?? Array(repeating: nil, count: count)
            guard items.count == count else {
                throw failure("\(type.goString) needs \(count) elements, got \(items.count)")
            }
            state.update(field)
            try encodeArray(items, elem, into: state.sink)
        case .map(let key, let elem):
            let entries = try mapEntries(value, type)
            if entries == nil && !state.sendZero { return }
            state.update(field)
            try encodeMap(entries ?? [], key: key, elem: elem, into: state.sink)
        case .structure(_, let fields):
            state.update(field)
            try encodeStruct(value, fields: fields, as: type, into: state.sink)
        default:
            throw failure("\(type.goString) is not a composite type")
        }
    }

    /// Go's `encodeArray`: the count, then every element, zero or not.
    private func encodeArray(_ items: [GobValue?], _ elem: GobType, into sink: GobSink) throws {
        var state = State(sink: sink, sendZero: true, fieldNumber: -1)
        sink.uint(UInt64(items.count))
        for (index, item) in items.enumerated() {
            path.append("[\(index)]")
            defer { path.removeLast() }
            try encodeOp(nil, &state, item, elem)
        }
    }

    /// Go's `encodeMap`: the count, then each key and value.
    private func encodeMap(
        _ entries: [(GobValue, GobValue)], key: GobType, elem: GobType, into sink: GobSink
    )
        throws
    {
        var state = State(sink: sink, sendZero: true, fieldNumber: -1)
        sink.uint(UInt64(entries.count))
        for (index, entry) in entries.enumerated() {
            path.append("[key \(index)]")
            try encodeOp(nil, &state, entry.0, key)
            path[path.count - 1] = "[value \(index)]"
            try encodeOp(nil, &state, entry.1, elem)
            path.removeLast()
        }
    }

    /// Go's `encodeInterface`: the registered name ("" for nil), definitions of new types (flushing
    /// the buffer, as Go does), the type id, and the value as a length-prefixed singleton or struct.
    private func encodeInterface(_ value: GobValue?, into sink: GobSink) throws {
        var state = State(sink: sink, sendZero: true, fieldNumber: -1)
        guard let value else {
            sink.uint(0)
            return
        }
        guard case .interface(let name, let concrete, let inner) = value else {
            throw mismatch("an .interface or .nilInterface", .interface, value)
        }
        guard !name.isEmpty else { throw failure("an interface value needs its type's registered name") }
        sink.counted(Array(name.utf8))
        guard let writer = writers.last else { throw failure("no writer") }
        try sendTypeDescriptor(to: writer, &state, concrete)
        try sendTypeId(&state, concrete)
        writers.append(sink)
        path.append(".(\(name))")
        let data = GobSink()
        try encode(inner, as: concrete, into: data)
        path.removeLast()
        writers.removeLast()
        writeMessage(to: sink, from: data)
    }

    // MARK: Value checks

    private func boolValue(_ value: GobValue?, _ type: GobType) throws -> Bool {
        switch value {
        case nil: return false
        case .bool(let bool)?: return bool
        case let other?: throw mismatch("a .bool", type, other)
        }
    }

    private func intValue(_ value: GobValue?, _ type: GobType) throws -> Int64 {
        switch value {
        case nil: return 0
        case .int(let int)?: return int
        case .uint(let uint)?:
            guard let int = Int64(exactly: uint) else { throw failure("\(uint) does not fit in a Go int") }
            return int
        case let other?: throw mismatch("an .int", type, other)
        }
    }

    private func uintValue(_ value: GobValue?, _ type: GobType) throws -> UInt64 {
        switch value {
        case nil: return 0
        case .uint(let uint)?: return uint
        case .int(let int)?:
            guard let uint = UInt64(exactly: int) else { throw failure("\(int) does not fit in a Go uint") }
            return uint
        case let other?: throw mismatch("a .uint", type, other)
        }
    }

    private func floatValue(_ value: GobValue?, _ type: GobType) throws -> Double {
        switch value {
        case nil: return 0
        case .float(let float)?: return float
        case let other?: throw mismatch("a .float", type, other)
        }
    }

    private func stringOrBytes(_ value: GobValue?, _ type: GobType) throws -> [UInt8] {
        switch (value, type) {
        case (nil, _): return []
        case (.string(let string)?, .string): return Array(string.utf8)
        case (.bytes(let bytes)?, .bytes): return bytes
        case (let other?, _): throw mismatch(type == .string ? "a .string" : "a .bytes", type, other)
        }
    }

    private func listValue(_ value: GobValue?, _ type: GobType) throws -> [GobValue?]? {
        switch value {
        case nil: return nil
        case .list(let items)?: return items
        case let other?: throw mismatch("a .list", type, other)
        }
    }

    private func mapEntries(_ value: GobValue?, _ type: GobType) throws -> [(GobValue, GobValue)]? {
        switch value {
        case nil: return nil
        case .map(let entries)?: return entries
        case let other?: throw mismatch("a .map", type, other)
        }
    }

    private func encodedBytes(_ value: GobValue, _ type: GobType) throws -> [UInt8] {
        switch value {
        case .encoded(let bytes), .bytes(let bytes): return bytes
        default: throw mismatch("an .encoded", type, value)
        }
    }

    private func mismatch(_ expected: String, _ type: GobType, _ value: GobValue) -> GobError {
        failure("\(type.goString) takes \(expected) value, got \(value.caseName)")
    }

    private func failure(_ message: String) -> GobError {
        GobError("encoding \(path.joined()): \(message)")
    }
}

extension GobValue {
    /// The case's name, for error messages.
    var caseName: String {
        switch self {
        case .bool: ".bool"
        case .int: ".int"
        case .uint: ".uint"
        case .float: ".float"
        case .string: ".string"
        case .bytes: ".bytes"
        case .list: ".list"
        case .map: ".map"
        case .structure: ".structure"
        case .interface(let name, _, _): ".interface(\(name))"
        case .nilInterface: ".nilInterface"
        case .encoded: ".encoded"
        }
    }
}
