import Foundation

// Go's encoding/gob for a dynamic value model: what Go's net/rpc (and so hashicorp/go-plugin's
// net/rpc plugins, such as Argo Rollouts' metric plugins) writes and reads. The wire format is
// described in Go's src/encoding/gob/doc.go; GobEncoder.swift and GobDecoder.swift follow Go 1.19's
// encoder.go/encode.go and decoder.go/decode.go closely enough to produce Go's bytes exactly.

/// A Go type as gob describes it, for encoding (and, for interface values, as decoded).
///
/// Pointers are not on the wire: a `*T` field is sent as a `T`, except that a nil pointer is
/// simply left out. Use `.pointer` where Go has a pointer so that an absent value is left out as
/// Go leaves out a nil pointer; without it an absent struct field is sent as an empty struct,
/// because that is what Go sends for a non-pointer struct field (and the receiver then sees a
/// non-nil, zero `*T`).
public indirect enum GobType: Hashable, Sendable {
    /// Go `bool`.
    case bool
    /// Go `int`, `int8` … `int64`.
    case int
    /// Go `uint`, `uint8` … `uint64`, `uintptr`.
    case uint
    /// Go `float32`, `float64`.
    case float
    /// Go `string`.
    case string
    /// Go `[]byte` (also `json.RawMessage`).
    case bytes
    /// Go `any` / `interface{...}`: values are `.interface(name:type:value:)` or `.nilInterface`.
    case interface
    /// Go `[]T` (not `[]byte`, which is `.bytes`).
    case slice(GobType)
    /// Go `[count]T`.
    case array(GobType, count: Int)
    /// Go `map[K]V`.
    case map(key: GobType, value: GobType)
    /// A Go struct: `name` as Go's `reflect.Type.String()` spells it ("Metric" or "v1alpha1.Metric";
    /// the wire carries the part after the last dot), `fields` its exported fields in declaration
    /// order. Gob matches fields by name, so a subset of a Go struct's fields is fine.
    case structure(name: String, fields: [GobField])
    /// A type implementing `GobEncoder` (e.g. `time.Time`, `metav1.Time`); its values are `.encoded`.
    /// `fields` are the Go struct's exported fields: nothing reads them, but Go's encoder sends their
    /// type definitions too, so they only matter for byte-for-byte equality (see `kubernetesTime`).
    case gobEncoder(name: String, fields: [GobField] = [])
    /// A type implementing `encoding.BinaryMarshaler` but not `GobEncoder`; values are `.encoded`.
    case binaryMarshaler(name: String, fields: [GobField] = [])
    /// A type sent as `encoding.TextMarshaler`; Go's encoder never sends these, but its decoder reads them.
    case textMarshaler(name: String, fields: [GobField] = [])
    /// Go `*T`. Transparent on the wire (see the type's documentation).
    case pointer(GobType)
    /// The Go spelling of a type, e.g. `.named("json.RawMessage", .bytes)` or `.named("int32", .int)`:
    /// encoded as the wrapped type; only the names gob writes in type definitions change (Go names an
    /// unnamed `map[string]json.RawMessage` field's type after it), and Go types that gob would
    /// otherwise share a definition for (`[]int32` and `[]int64`) get one each, as in Go.
    case named(String, GobType)

    /// Go's `time.Time`.
    public static let goTime = GobType.gobEncoder(name: "time.Time")
    /// Kubernetes' `metav1.Time` (a struct embedding `time.Time`); use `.pointer(.kubernetesTime)`
    /// for `*metav1.Time` fields. Values are `.encoded(GoTime.encode(date))`.
    public static let kubernetesTime = GobType.gobEncoder(name: "v1.Time", fields: [GobField("Time", .goTime)])
}

/// A field of a `GobType.structure`.
public struct GobField: Hashable, Sendable {
    /// The Go field name (exported), which is what gob matches on.
    public var name: String
    /// The field's type.
    public var type: GobType

    /// A field named `name` (as in Go) of type `type`.
    public init(_ name: String, _ type: GobType) {
        self.name = name
        self.type = type
    }
}

/// A gob value. For encoding, a value is paired with a `GobType` that says how to send it.
///
/// Decoding gives: structs as `.structure` (fields left out on the wire, i.e. Go zero values, are
/// absent), Go ints as `.int`, uints as `.uint`, floats as `.float`, slices and arrays as `.list`,
/// maps as `.map` (in wire order), interfaces as `.interface` (with the sender's registered name and
/// the type as its definition describes it) or `.nilInterface`, and GobEncoder, BinaryMarshaler and
/// TextMarshaler values as `.encoded`.
///
/// Maps compare equal whatever the order of their entries (Go's map order is random).
public indirect enum GobValue: Hashable, Sendable {
    /// A Go `bool`.
    case bool(Bool)
    /// A Go signed integer. A `.uint` type also takes a non-negative `.int`.
    case int(Int64)
    /// A Go unsigned integer. An `.int` type also takes a `.uint` that fits in an `Int64`.
    case uint(UInt64)
    /// A Go float.
    case float(Double)
    /// A Go string.
    case string(String)
    /// A Go `[]byte`.
    case bytes([UInt8])
    /// The elements of a slice or array.
    case list([GobValue])
    /// The (key, value) pairs of a map.
    case map([(GobValue, GobValue)])
    /// A struct's fields by Go name; an absent field is the Go zero value (nil for a pointer).
    case structure([String: GobValue])
    /// A non-nil interface value: `name` is the concrete type's registered name (`gob.Register`,
    /// `gob.RegisterName`: "RunArgs", or "string" for a plain Go string), `type` its type and
    /// `value` the concrete value.
    case interface(name: String, type: GobType, value: GobValue)
    /// A nil interface value.
    case nilInterface
    /// What a GobEncoder (BinaryMarshaler, TextMarshaler) produced, e.g. `GoTime.encode(date)`.
    case encoded([UInt8])
}

/// A gob encoding or decoding failure; `message` says what was wrong and where.
public struct GobError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was wrong, e.g. "unknown type id 99 (no definition was received)".
    public var message: String

    /// A failure described by `message`.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "gob: \(message)" }
}

/// Gob's stream framing: each message is its length (a gob unsigned integer) and that many bytes.
public enum GobFraming {
    /// The default limit on one message's length (Go allows up to 8 GiB, more than a plugin needs).
    public static let defaultMaximumSize = 64 << 20

    /// If `buffer` starts with a whole length-prefixed message, returns its body and the number of
    /// bytes it takes (prefix included); nil if more bytes are needed. Throws on a malformed length
    /// or one over `maximumSize`.
    public static func nextMessage(
        in buffer: ArraySlice<UInt8>, maximumSize: Int = defaultMaximumSize
    ) throws -> (body: [UInt8], consumed: Int)? {
        guard let first = buffer.first else { return nil }
        var length: UInt64 = 0
        var prefix = 1
        if first > 0x7F {
            let count = 256 - Int(first)
            guard count <= 8 else {
                throw GobError("malformed message length: prefix byte 0x\(String(first, radix: 16))")
            }
            guard buffer.count > count else { return nil }
            for byte in buffer.dropFirst().prefix(count) { length = length << 8 | UInt64(byte) }
            prefix += count
        } else {
            length = UInt64(first)
        }
        guard length <= UInt64(maximumSize) else {
            throw GobError("message of \(length) bytes is over the \(maximumSize)-byte limit")
        }
        let total = prefix + Int(length)
        guard buffer.count >= total else { return nil }
        let start = buffer.startIndex + prefix
        return (Array(buffer[start..<buffer.startIndex + total]), total)
    }

    /// `body` with its length prefix, as Go's encoder writes a message.
    public static func frame(_ body: [UInt8]) -> [UInt8] {
        let sink = GobSink()
        sink.uint(UInt64(body.count))
        sink.bytes += body
        return sink.bytes
    }
}

/// Go's `time.Time` GobEncode/MarshalBinary format: version 1, int64 big-endian seconds since
/// January 1 of year 1 UTC, int32 nanoseconds, int16 zone offset in minutes (-1 for UTC); version 2
/// adds an int8 of offset seconds.
public enum GoTime {
    /// Seconds from January 1, year 1 to the Unix epoch.
    static let unixToInternal: Int64 = 62_135_596_800

    /// `date` as Go's `time.Time` in UTC encodes itself. The fraction of a second is rounded to the
    /// finest decimal unit the `Date` holds exactly (microseconds for today's dates), so that
    /// `Date(timeIntervalSince1970: 1.000006)` is sent as 6000 nanoseconds, not 5960.
    public static func encode(_ date: Date) -> [UInt8] {
        let interval = date.timeIntervalSince1970
        let limit = 1e15  // far beyond any real date; keeps the conversions below in range
        let clamped = interval.isNaN ? 0 : min(max(interval, -limit), limit)
        var seconds = clamped.rounded(.down)
        var unit = 1.0  // in nanoseconds
        while unit * 1e-9 < clamped.ulp && unit < 1e9 { unit *= 10 }
        var nanoseconds = ((clamped - seconds) * 1e9 / unit).rounded() * unit
        if nanoseconds >= 1e9 {
            seconds += 1
            nanoseconds -= 1e9
        }
        let sinceYearOne = Int64(seconds) + unixToInternal
        var bytes: [UInt8] = [1]
        bytes += bigEndian(UInt64(bitPattern: sinceYearOne), count: 8)
        bytes += bigEndian(UInt64(nanoseconds), count: 4)
        bytes += [0xFF, 0xFF]  // offset -1: UTC
        return bytes
    }

    /// The instant a Go `time.Time` encoding (version 1 or 2) denotes; the zone is dropped.
    public static func decode(_ bytes: [UInt8]) throws -> Date {
        guard let version = bytes.first else { throw GobError("time: no data") }
        guard version == 1 || version == 2 else { throw GobError("time: unsupported version \(version)") }
        let expected = version == 1 ? 15 : 16
        guard bytes.count == expected else {
            throw GobError("time: version \(version) takes \(expected) bytes, got \(bytes.count)")
        }
        let seconds = Int64(bitPattern: readBigEndian(bytes[1..<9]))
        let nanoseconds = Int32(bitPattern: UInt32(truncatingIfNeeded: readBigEndian(bytes[9..<13])))
        let unixSeconds = Double(seconds) - Double(unixToInternal)
        return Date(timeIntervalSince1970: unixSeconds + Double(nanoseconds) / 1e9)
    }

    private static func bigEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(count - 1 - $0))) }
    }

    private static func readBigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

// MARK: - Conveniences

extension GobValue {
    /// A Go `time.Time` (or `metav1.Time`) value.
    public static func time(_ date: Date) -> GobValue { .encoded(GoTime.encode(date)) }

    /// A `map[string]string` value, its entries sorted by key.
    public static func stringMap(_ map: [String: String]) -> GobValue {
        .map(map.sorted { $0.key < $1.key }.map { (.string($0.key), .string($0.value)) })
    }

    /// A struct's field (nil when absent, i.e. zero, or when this is not a struct).
    public subscript(field: String) -> GobValue? {
        if case .structure(let fields) = self { fields[field] } else { nil }
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The integer, if this is a `.int` or a `.uint` that fits.
    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The `map[string]string` entries, if this is a map of strings to strings.
    public var stringMapValue: [String: String]? {
        guard case .map(let entries) = self else { return nil }
        var result: [String: String] = [:]
        for (key, value) in entries {
            guard case .string(let key) = key, case .string(let value) = value else { return nil }
            result[key] = value
        }
        return result
    }

    /// The instant, if this is an `.encoded` Go `time.Time`.
    public var dateValue: Date? {
        if case .encoded(let bytes) = self { try? GoTime.decode(bytes) } else { nil }
    }

    /// The concrete value of a non-nil interface; nil for `.nilInterface`; the value itself otherwise.
    public var unwrappingInterface: GobValue? {
        switch self {
        case .interface(_, _, let value): value
        case .nilInterface: nil
        default: self
        }
    }
}

// MARK: - Equality (maps compare as unordered)

extension GobValue {
    public static func == (lhs: GobValue, rhs: GobValue) -> Bool {
        switch (lhs, rhs) {
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.uint(let a), .uint(let b)): a == b
        case (.float(let a), .float(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.list(let a), .list(let b)): a == b
        case (.map(let a), .map(let b)): sameEntries(a, b)
        case (.structure(let a), .structure(let b)): a == b
        case (.interface(let name1, let type1, let value1), .interface(let name2, let type2, let value2)):
            name1 == name2 && type1 == type2 && value1 == value2
        case (.nilInterface, .nilInterface): true
        case (.encoded(let a), .encoded(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .bool(let value): hasher.combine(value)
        case .int(let value): hasher.combine(value)
        case .uint(let value): hasher.combine(value)
        case .float(let value): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .bytes(let value), .encoded(let value): hasher.combine(value)
        case .list(let value): hasher.combine(value)
        case .map(let entries):
            // Order-independent: a sum of the entries' own hashes.
            let sum = entries.reduce(0) { sum, entry in
                var entryHasher = Hasher()
                entryHasher.combine(entry.0)
                entryHasher.combine(entry.1)
                return sum &+ entryHasher.finalize()
            }
            hasher.combine(sum)
        case .structure(let value): hasher.combine(value)
        case .interface(let name, let type, let value):
            hasher.combine(name)
            hasher.combine(type)
            hasher.combine(value)
        case .nilInterface: hasher.combine(0)
        }
    }

    private static func sameEntries(_ lhs: [(GobValue, GobValue)], _ rhs: [(GobValue, GobValue)]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var unmatched = rhs
        for entry in lhs {
            guard let index = unmatched.firstIndex(where: { $0.0 == entry.0 && $0.1 == entry.1 }) else { return false }
            unmatched.remove(at: index)
        }
        return true
    }
}

// MARK: - Shared wire machinery

/// The ids gob reserves for its basic types.
enum GobTypeId {
    static let bool = 1
    static let int = 2
    static let uint = 3
    static let float = 4
    static let bytes = 5
    static let string = 6
    static let complex = 7
    static let interface = 8
    /// The first id given to a user type.
    static let firstUser = 65
}

/// Which of gob's external-encoding interfaces a type implements; the raw value is the index of
/// its field in Go's `wireType` struct.
enum GobExternalKind: Int, Hashable, Sendable {
    case gobEncoder = 4
    case binaryMarshaler = 5
    case textMarshaler = 6
}

/// A type definition as gob sends it (Go's `wireType`, with its `CommonType` name and id).
struct GobWireType: Hashable, Sendable {
    struct Field: Hashable, Sendable {
        var name: String
        var id: Int
    }

    enum Kind: Hashable, Sendable {
        case array(elem: Int, count: Int)
        case slice(elem: Int)
        case structure(fields: [Field])
        case map(key: Int, elem: Int)
        case external(GobExternalKind)
    }

    var name: String
    var id: Int
    var kind: Kind
}

/// A growable byte buffer shared by reference, as Go's encoder shares its `encBuffer`s.
final class GobSink {
    var bytes: [UInt8] = []

    /// Gob's unsigned integer: one byte below 0x80, else the negated byte count and big-endian bytes.
    func uint(_ value: UInt64) {
        if value <= 0x7F {
            bytes.append(UInt8(value))
            return
        }
        let count = 8 - value.leadingZeroBitCount / 8
        bytes.append(UInt8(256 - count))
        for index in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))))
        }
    }

    /// Gob's signed integer: the value shifted left one bit, complemented (low bit set) if negative.
    func int(_ value: Int64) {
        if value < 0 {
            uint(UInt64(bitPattern: ~value) << 1 | 1)
        } else {
            uint(UInt64(value) << 1)
        }
    }

    /// Gob's string or byte slice: the length, then the bytes.
    func counted<Bytes: Collection<UInt8>>(_ data: Bytes) {
        uint(UInt64(data.count))
        bytes += data
    }
}

/// Writes a struct's field numbers as gob's increasing deltas; a zero delta ends the struct.
struct GobStructWriter {
    let sink: GobSink
    private var last = -1

    init(_ sink: GobSink) {
        self.sink = sink
    }

    mutating func field(_ number: Int) {
        sink.uint(UInt64(number - last))
        last = number
    }

    func end() { sink.uint(0) }
}

extension GobWireType {
    /// The definition encoded as a Go `wireType` struct value.
    func write(to sink: GobSink) {
        var wire = GobStructWriter(sink)
        wire.field(kindFieldIndex)
        var type = GobStructWriter(sink)
        type.field(0)
        writeCommonType(to: sink)
        switch kind {
        case .array(let elem, let count):
            type.field(1)
            sink.int(Int64(elem))
            if count != 0 {
                type.field(2)
                sink.int(Int64(count))
            }
        case .slice(let elem):
            type.field(1)
            sink.int(Int64(elem))
        case .structure(let fields):
            if !fields.isEmpty {
                type.field(1)
                sink.uint(UInt64(fields.count))
                for field in fields { Self.write(field, to: sink) }
            }
        case .map(let key, let elem):
            type.field(1)
            sink.int(Int64(key))
            type.field(2)
            sink.int(Int64(elem))
        case .external:
            break
        }
        type.end()
        wire.end()
    }

    private var kindFieldIndex: Int {
        switch kind {
        case .array: 0
        case .slice: 1
        case .structure: 2
        case .map: 3
        case .external(let external): external.rawValue
        }
    }

    /// Go's `CommonType{Name, Id}`.
    private func writeCommonType(to sink: GobSink) {
        Self.writeNameAndId(name, id, to: sink)
    }

    /// Go's `fieldType{Name, Id}`.
    private static func write(_ field: Field, to sink: GobSink) {
        writeNameAndId(field.name, field.id, to: sink)
    }

    private static func writeNameAndId(_ name: String, _ id: Int, to sink: GobSink) {
        var writer = GobStructWriter(sink)
        if !name.isEmpty {
            writer.field(0)
            sink.counted(Array(name.utf8))
        }
        if id != 0 {
            writer.field(1)
            sink.int(Int64(id))
        }
        writer.end()
    }
}
