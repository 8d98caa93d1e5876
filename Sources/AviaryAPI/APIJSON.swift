import Foundation

/// How both sides of the API write and read JSON: sorted keys (the bytes of an answer do not
/// depend on dictionary order) and times as RFC 3339 in UTC to the second, as Kubernetes writes
/// them (`2026-11-28T12:00:00Z`).
public enum APIJSON {
    /// The encoder of request and response bodies.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// The decoder of request and response bodies.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
