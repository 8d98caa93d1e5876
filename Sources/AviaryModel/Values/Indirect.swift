/// An optional field kept out of line: `@Indirect public var readinessProbe: Probe?` stores one
/// pointer (nil when the field is absent) instead of the whole value inside its struct.
///
/// The model's structs mirror Argo's and Kubernetes' schemas, where most fields are optional and
/// absent. Kept inline, every absent field still takes its full size, so a decoded `Rollout`
/// was 3 kB and each `Container` 1 kB before a single field was set, and the daemon keeps a few
/// of each per rollout. Large and rarely set fields use this wrapper instead. A copy shares the
/// box (it is immutable), and a write replaces it, so the field keeps value semantics.
///
/// Codable reads and writes it exactly as the plain optional: an absent key or `null` decodes as
/// nil, and nil is not encoded (the `KeyedDecodingContainer`/`KeyedEncodingContainer` overloads
/// below, which synthesized conformances pick over the generic ones).
@propertyWrapper
public struct Indirect<Value: Sendable>: Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box?

    /// A field holding `wrappedValue` (nil takes no allocation).
    public init(wrappedValue: Value?) {
        box = wrappedValue.map(Box.init)
    }

    /// The field's value.
    public var wrappedValue: Value? {
        get { box?.value }
        set { box = newValue.map(Box.init) }
    }
}

extension Indirect: Equatable where Value: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.box === rhs.box || lhs.wrappedValue == rhs.wrappedValue
    }
}

extension Indirect: Hashable where Value: Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine(wrappedValue) }
}

extension Indirect: Decodable where Value: Decodable {
    /// Decodes a value or `null` from a single-value container (used when it is not a keyed field).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.init(wrappedValue: container.decodeNil() ? nil : try container.decode(Value.self))
    }
}

extension Indirect: Encodable where Value: Encodable {
    /// Encodes the value, or `null` when there is none (a keyed field omits its key instead).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value = wrappedValue { try container.encode(value) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// An `@Indirect` field: absent or `null` is nil, as for a plain optional.
    public func decode<Value: Decodable>(_: Indirect<Value>.Type, forKey key: Key) throws -> Indirect<Value> {
        Indirect(wrappedValue: try decodeIfPresent(Value.self, forKey: key))
    }
}

extension KeyedEncodingContainer {
    /// An `@Indirect` field: nil leaves the key out, as for a plain optional.
    public mutating func encode<Value: Encodable>(_ value: Indirect<Value>, forKey key: Key) throws {
        try encodeIfPresent(value.wrappedValue, forKey: key)
    }
}
