/// Base64 as Go's `encoding/base64.StdEncoding` decodes it, with Go's error text.
enum Base64 {
    /// sprig's `b64dec`: the decoded text, or the decoder's error message as the result.
    static func decodeOrError(_ text: String) -> String {
        switch decode(Array(text.utf8)) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let offset): return "illegal base64 data at input byte \(offset.value)"
        }
    }

    struct CorruptInput: Error {
        var value: Int
    }

    static func decode(_ input: [UInt8]) -> Result<[UInt8], CorruptInput> {
        var output: [UInt8] = []
        var quantum: [UInt8] = []
        var quantumStart = 0
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                index += 1
                continue
            }
            if quantum.isEmpty { quantumStart = index }
            if byte == UInt8(ascii: "=") {
                guard quantum.count >= 2 else { return .failure(CorruptInput(value: index)) }
                let needed = 4 - quantum.count
                var padding = 0
                while index < input.count, padding < needed {
                    guard input[index] == UInt8(ascii: "=") else { return .failure(CorruptInput(value: index)) }
                    padding += 1
                    index += 1
                }
                guard padding == needed else { return .failure(CorruptInput(value: input.count)) }
                if let extra = input[index...].firstIndex(where: {
                    $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r")
                }) {
                    return .failure(CorruptInput(value: extra))
                }
                output.append(contentsOf: bytes(of: quantum))
                return .success(output)
            }
            guard let value = sextet(byte) else { return .failure(CorruptInput(value: index)) }
            quantum.append(value)
            if quantum.count == 4 {
                output.append(contentsOf: bytes(of: quantum))
                quantum.removeAll()
            }
            index += 1
        }
        guard quantum.isEmpty else { return .failure(CorruptInput(value: quantumStart)) }
        return .success(output)
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    private static func bytes(of quantum: [UInt8]) -> [UInt8] {
        var bits: UInt32 = 0
        for sextet in quantum { bits = bits << 6 | UInt32(sextet) }
        bits <<= UInt32(6 * (4 - quantum.count))
        let all = [
            UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8),
            UInt8(truncatingIfNeeded: bits),
        ]
        return Array(all.prefix(quantum.count - 1))
    }
}
