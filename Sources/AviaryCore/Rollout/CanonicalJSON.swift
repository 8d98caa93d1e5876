import AviaryJSON

/// Canonical JSON bytes of an `Encodable` value: object keys sorted by their UTF-8 bytes, no
/// whitespace, `/` not escaped. Written for the pod-template hash, which every reconcile
/// computes twice (template and steps): Foundation's `JSONEncoder` made that most of a
/// reconcile's time (see bench/reconcile). Coding paths stay empty: encoding the model's plain
/// values cannot fail, and building them costs an allocation per field.
enum CanonicalJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var output: [UInt8] = []
        output.reserveCapacity(512)
        root.write(to: &output)
        return output
    }

    /// One value being built; a class so containers can fill it after handing it out.
    final class Node {
        enum Kind {
            case empty
            case scalar
            case object
            case array
        }

        var kind = Kind.empty
        var scalar: [UInt8] = []
        var members: [(key: String, node: Node)] = []
        var elements: [Node] = []

        func write(to output: inout [UInt8]) {
            switch kind {
            case .empty:
                output.append(contentsOf: "null".utf8)
            case .scalar:
                output.append(contentsOf: scalar)
            case .array:
                output.append(UInt8(ascii: "["))
                for (index, element) in elements.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    element.write(to: &output)
                }
                output.append(UInt8(ascii: "]"))
            case .object:
                output.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (index, member) in sorted.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    JSONValue.appendQuoted(member.key, to: &output)
                    output.append(UInt8(ascii: ":"))
                    member.node.write(to: &output)
                }
                output.append(UInt8(ascii: "}"))
            }
        }

        /// The member node for `key`, replacing an earlier one with the same key.
        func member(_ key: String) -> Node {
            kind = .object
            let node = Node()
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].node = node
            } else {
                members.append((key, node))
            }
            return node
        }

        func element() -> Node {
            kind = .array
            let node = Node()
            elements.append(node)
            return node
        }

        func set(_ bytes: [UInt8]) {
            kind = .scalar
            scalar = bytes
        }

        func set(string: String) {
            kind = .scalar
            scalar = []
            JSONValue.appendQuoted(string, to: &scalar)
        }

        func set<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
            switch value {
            case let string as String: set(string: string)
            case let number as Int: set(Array(String(number).utf8))
            // Any other integer (JSONValue's are Int64): without this case it would fall to
            // `encode(to:)`, which hands it straight back here, without end.
            case let number as any BinaryInteger: set(Array("\(number)".utf8))
            case let bool as Bool: set(Array((bool ? "true" : "false").utf8))
            case let number as Double: set(Array(CanonicalJSON.format(number).utf8))
            default: try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
            }
        }
    }

    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int(number)) }
        return String(number)
    }

    struct NodeEncoder: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            node.kind = .object
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            node.kind = .array
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(node: node, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { _ = node.member(key.stringValue) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { try encodeValue(value, key) }
        mutating func encode(_ value: String, forKey key: Key) throws {
            node.member(key.stringValue).set(string: value)
        }
        mutating func encode(_ value: Double, forKey key: Key) throws { try encodeValue(value, key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { try encodeValue(Double(value), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { try encodeValue(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeValue(String(value), key, raw: true) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeValue(Int(value), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeValue(String(value), key, raw: true) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encodeValue(value, key) }

        // Absent optionals are most of a pod template's fields: skip them without the
        // protocol's generic default path.
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
            if let value { node.member(key.stringValue).set(Array((value ? "true" : "false").utf8)) }
        }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
            if let value { node.member(key.stringValue).set(string: value) }
        }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
            if let value { node.member(key.stringValue).set(Array(String(value).utf8)) }
        }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
            if let value { node.member(key.stringValue).set(Array(CanonicalJSON.format(value).utf8)) }
        }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            if let value { try encodeValue(value, key) }
        }

        private func encodeValue<T: Encodable>(_ value: T, _ key: Key, raw: Bool = false) throws {
            let child = node.member(key.stringValue)
            if raw, let text = value as? String {
                child.set(Array(text.utf8))
            } else {
                try child.set(value, codingPath: codingPath)
            }
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        )
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = node.member(key.stringValue)
            child.kind = .object
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = node.member(key.stringValue)
            child.kind = .array
            return Unkeyed(node: child, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder {
            NodeEncoder(node: node.member("super"), codingPath: codingPath)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath)
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.elements.count }

        mutating func encodeNil() throws { _ = node.element() }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try node.element().set(value, codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        )
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = node.element()
            child.kind = .object
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = node.element()
            child.kind = .array
            return Unkeyed(node: child, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.element(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.set(Array("null".utf8)) }
        mutating func encode<T: Encodable>(_ value: T) throws { try node.set(value, codingPath: codingPath) }
    }
}
