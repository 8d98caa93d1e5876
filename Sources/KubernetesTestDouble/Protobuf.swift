import AviaryJSON
import Foundation

/// kubectl's typed commands (`kubectl create namespace|configmap|secret|service`) send their
/// object as Kubernetes protobuf (`k8s\0` and a `runtime.Unknown` envelope) and do not fall back
/// to JSON, so the double decodes those four kinds from protobuf into JSON. Field numbers are
/// those of `k8s.io/api/core/v1/generated.proto`; zero values are dropped, as JSON's
/// `omitempty` would drop them.
enum Protobuf {
    indirect enum FieldType: Sendable {
        case string
        case bytes
        case integer
        case boolean
        case message(Message)
        case stringMap
        case bytesMap
        case intOrString
        case time
    }

    struct Field: Sendable {
        var name: String
        var type: FieldType
        var isRepeated = false
    }

    typealias Message = [Int: Field]

    static let objectMeta: Message = [
        1: Field(name: "name", type: .string), 2: Field(name: "generateName", type: .string),
        3: Field(name: "namespace", type: .string), 4: Field(name: "selfLink", type: .string),
        5: Field(name: "uid", type: .string), 6: Field(name: "resourceVersion", type: .string),
        7: Field(name: "generation", type: .integer), 8: Field(name: "creationTimestamp", type: .time),
        9: Field(name: "deletionTimestamp", type: .time), 10: Field(name: "deletionGracePeriodSeconds", type: .integer),
        11: Field(name: "labels", type: .stringMap), 12: Field(name: "annotations", type: .stringMap),
        14: Field(name: "finalizers", type: .string, isRepeated: true),
    ]

    static let servicePort: Message = [
        1: Field(name: "name", type: .string), 2: Field(name: "protocol", type: .string),
        3: Field(name: "port", type: .integer), 4: Field(name: "targetPort", type: .intOrString),
        5: Field(name: "nodePort", type: .integer), 6: Field(name: "appProtocol", type: .string),
    ]

    static let serviceSpec: Message = [
        1: Field(name: "ports", type: .message(servicePort), isRepeated: true),
        2: Field(name: "selector", type: .stringMap), 3: Field(name: "clusterIP", type: .string),
        4: Field(name: "type", type: .string), 5: Field(name: "externalIPs", type: .string, isRepeated: true),
        7: Field(name: "sessionAffinity", type: .string), 8: Field(name: "loadBalancerIP", type: .string),
        9: Field(name: "loadBalancerSourceRanges", type: .string, isRepeated: true),
        10: Field(name: "externalName", type: .string), 11: Field(name: "externalTrafficPolicy", type: .string),
        12: Field(name: "healthCheckNodePort", type: .integer), 13: Field(name: "publishNotReadyAddresses", type: .boolean),
        17: Field(name: "ipFamilyPolicy", type: .string), 18: Field(name: "clusterIPs", type: .string, isRepeated: true),
        19: Field(name: "ipFamilies", type: .string, isRepeated: true),
        20: Field(name: "allocateLoadBalancerNodePorts", type: .boolean),
        21: Field(name: "loadBalancerClass", type: .string), 22: Field(name: "internalTrafficPolicy", type: .string),
    ]

    /// The kinds decoded, by `apiVersion/kind`.
    static let kinds: [String: Message] = [
        "v1/Namespace": [
            1: Field(name: "metadata", type: .message(objectMeta)),
            2: Field(name: "spec", type: .message([1: Field(name: "finalizers", type: .string, isRepeated: true)])),
        ],
        "v1/ConfigMap": [
            1: Field(name: "metadata", type: .message(objectMeta)), 2: Field(name: "data", type: .stringMap),
            3: Field(name: "binaryData", type: .bytesMap), 4: Field(name: "immutable", type: .boolean),
        ],
        "v1/Secret": [
            1: Field(name: "metadata", type: .message(objectMeta)), 2: Field(name: "data", type: .bytesMap),
            3: Field(name: "type", type: .string), 4: Field(name: "stringData", type: .stringMap),
            5: Field(name: "immutable", type: .boolean),
        ],
        "v1/Service": [
            1: Field(name: "metadata", type: .message(objectMeta)), 2: Field(name: "spec", type: .message(serviceSpec)),
        ],
    ]

    struct DecodingError: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes a `k8s\0` protobuf body into the JSON object it stands for.
    static func decode(_ data: Data) throws -> JSONValue {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, bytes[0..<4] == [0x6B, 0x38, 0x73, 0x00] else {
            throw DecodingError(description: "the body does not start with the Kubernetes protobuf magic k8s\\0")
        }
        var apiVersion = ""
        var kind = ""
        var raw: [UInt8] = []
        try fields(bytes[4...]) { number, value in
            switch (number, value) {
            case (1, .bytes(let typeMeta)):
                try fields(typeMeta) { number, value in
                    if case .bytes(let text) = value {
                        if number == 1 { apiVersion = String(decoding: text, as: UTF8.self) }
                        if number == 2 { kind = String(decoding: text, as: UTF8.self) }
                    }
                }
            case (2, .bytes(let body)): raw = Array(body)
            default: break
            }
        }
        guard let message = kinds["\(apiVersion)/\(kind)"] else {
            throw DecodingError(
                description: "the double decodes protobuf only for Namespace, ConfigMap, Secret and Service, not "
                    + "\(apiVersion) \(kind); send it as YAML or JSON (kubectl create -f)")
        }
        var object = try decode(raw[...], as: message)
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    private enum WireValue {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed
    }

    private static func fields(_ bytes: ArraySlice<UInt8>, _ visit: (Int, WireValue) throws -> Void) throws {
        var index = bytes.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.endIndex {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { break }
            }
            throw DecodingError(description: "truncated varint in protobuf body")
        }
        while index < bytes.endIndex {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: try visit(number, .varint(try varint()))
            case 1: index += 8; try visit(number, .fixed)
            case 5: index += 4; try visit(number, .fixed)
            case 2:
                let length = Int(try varint())
                guard index + length <= bytes.endIndex else {
                    throw DecodingError(description: "a protobuf field runs past the end of the body")
                }
                try visit(number, .bytes(bytes[index..<(index + length)]))
                index += length
            default:
                throw DecodingError(description: "unsupported protobuf wire type \(key & 7)")
            }
        }
    }

    private static func decode(_ bytes: ArraySlice<UInt8>, as message: Message) throws -> JSONValue {
        var object: [String: JSONValue] = [:]
        try fields(bytes) { number, wire in
            guard let field = message[number], let value = try convert(wire, field.type) else { return }
            if field.isRepeated {
                object[field.name] = .array((object[field.name]?.arrayValue ?? []) + [value])
            } else if case .object(let entry) = value, case .stringMap = field.type {
                object[field.name] = .object((object[field.name]?.objectValue ?? [:]).merging(entry) { $1 })
            } else if case .object(let entry) = value, case .bytesMap = field.type {
                object[field.name] = .object((object[field.name]?.objectValue ?? [:]).merging(entry) { $1 })
            } else {
                object[field.name] = value
            }
        }
        return .object(object)
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// One field's JSON value; nil for a zero value that JSON would omit.
    private static func convert(_ wire: WireValue, _ type: FieldType) throws -> JSONValue? {
        switch (type, wire) {
        case (.string, .bytes(let bytes)): return bytes.isEmpty ? nil : .string(text(bytes))
        case (.bytes, .bytes(let bytes)): return .string(Data(bytes).base64EncodedString())
        case (.integer, .varint(let number)): return number == 0 ? nil : .integer(Int64(bitPattern: number))
        case (.boolean, .varint(let number)): return number == 0 ? nil : .bool(true)
        case (.message(let message), .bytes(let bytes)): return try decode(bytes, as: message)
        case (.stringMap, .bytes(let bytes)), (.bytesMap, .bytes(let bytes)):
            var key = ""
            var value: JSONValue = .string("")
            try fields(bytes) { number, wire in
                guard case .bytes(let content) = wire else { return }
                if number == 1 { key = text(content) }
                if number == 2 {
                    if case .bytesMap = type {
                        value = .string(Data(content).base64EncodedString())
                    } else {
                        value = .string(text(content))
                    }
                }
            }
            return .object([key: value])
        case (.intOrString, .bytes(let bytes)):
            var isString = false
            var number: Int64 = 0
            var string = ""
            try fields(bytes) { field, wire in
                switch (field, wire) {
                case (1, .varint(let kind)): isString = kind == 1
                case (2, .varint(let value)): number = Int64(Int32(truncatingIfNeeded: value))
                case (3, .bytes(let content)): string = text(content)
                default: break
                }
            }
            return isString ? .string(string) : .integer(number)
        case (.time, .bytes(let bytes)):
            var seconds: Int64 = 0
            try fields(bytes) { field, wire in
                if field == 1, case .varint(let value) = wire { seconds = Int64(bitPattern: value) }
            }
            return seconds == 0 ? nil : .string(Timestamp.string(Date(timeIntervalSince1970: TimeInterval(seconds))))
        default:
            return nil
        }
    }
}
