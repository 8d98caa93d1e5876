/// A field whose value is one of a fixed set of strings (a phase, a condition type, a reason).
///
/// Reading a value outside the set fails with a message that lists the set, so that a manifest's
/// error says what to write instead of naming a Swift type.
public protocol ClosedSet: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension ClosedSet {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected one of \(allowed); got \"\(text)\"")
        }
        self = value
    }
}
