import Foundation

/// sprig's string functions, argument order as in sprig: the subject string comes last so it
/// can be piped (`.s | trimPrefix "v"`).
enum SprigStrings {
    static let functions: [String: TemplateFunction] = [
        "upper": stringFunction { mapScalars($0) { $0.properties.uppercaseMapping } },
        "lower": stringFunction { mapScalars($0) { $0.properties.lowercaseMapping } },
        "title": stringFunction(title),
        "trim": stringFunction { trim($0) { $0.properties.isWhitespace } },
        "nospace": stringFunction { text in
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: text.unicodeScalars.filter { !$0.properties.isWhitespace })
            return String(scalars)
        },
        "b64enc": stringFunction { Data($0.utf8).base64EncodedString() },
        "b64dec": stringFunction(Base64.decodeOrError),
        "trimAll": TemplateFunction([.string, .string]) { arguments, _ in
            let cutset = Set(arguments.string(0).unicodeScalars)
            return .string(trim(arguments.string(1)) { cutset.contains($0) })
        },
        "trimPrefix": TemplateFunction([.string, .string]) { arguments, _ in
            let prefix = arguments.string(0)
            let text = arguments.string(1)
            guard ByteStrings.hasPrefix(text, prefix) else { return .string(text) }
            return .string(String(decoding: Array(text.utf8).dropFirst(prefix.utf8.count), as: UTF8.self))
        },
        "trimSuffix": TemplateFunction([.string, .string]) { arguments, _ in
            let suffix = arguments.string(0)
            let text = arguments.string(1)
            guard ByteStrings.hasSuffix(text, suffix) else { return .string(text) }
            return .string(String(decoding: Array(text.utf8).dropLast(suffix.utf8.count), as: UTF8.self))
        },
        "trunc": TemplateFunction([.integer, .string]) { arguments, _ in
            let count = arguments.integer(0)
            let bytes = Array(arguments.string(1).utf8)
            let length = Int64(bytes.count)
            if count < 0, length + count > 0 {
                return .string(String(decoding: bytes[Int(length + count)...], as: UTF8.self))
            }
            if count >= 0, length > count {
                return .string(String(decoding: bytes[..<Int(count)], as: UTF8.self))
            }
            return .string(arguments.string(1))
        },
        "substr": TemplateFunction([.integer, .integer, .string]) { arguments, _ throws(FunctionFailure) in
            let bytes = Array(arguments.string(2).utf8)
            let length = Int64(bytes.count)
            var start = arguments.integer(0)
            var end = arguments.integer(1)
            if start < 0 { start = 0 }
            if end < 0 || end > length { end = length }
            guard start <= end else {
                throw FunctionFailure("runtime error: slice bounds out of range [\(start):\(end)]")
            }
            return .string(String(decoding: bytes[Int(start)..<Int(end)], as: UTF8.self))
        },
        "replace": TemplateFunction([.string, .string, .string]) { arguments, context throws(FunctionFailure) in
            let old = arguments.string(0)
            let new = arguments.string(1)
            let text = arguments.string(2)
            let estimate = old.isEmpty ? (text.unicodeScalars.count + 1) * new.utf8.count : text.utf8.count
            guard estimate <= context.sizeLimit else {
                throw FunctionFailure("result would exceed \(context.sizeLimit) bytes")
            }
            let result = ByteStrings.replace(text, old: old, new: new)
            guard result.utf8.count <= context.sizeLimit else {
                throw FunctionFailure("result would exceed \(context.sizeLimit) bytes")
            }
            return .string(result)
        },
        "contains": TemplateFunction([.string, .string]) { arguments, _ in
            .bool(ByteStrings.contains(arguments.string(1), arguments.string(0)))
        },
        "hasPrefix": TemplateFunction([.string, .string]) { arguments, _ in
            .bool(ByteStrings.hasPrefix(arguments.string(1), arguments.string(0)))
        },
        "hasSuffix": TemplateFunction([.string, .string]) { arguments, _ in
            .bool(ByteStrings.hasSuffix(arguments.string(1), arguments.string(0)))
        },
        "repeat": TemplateFunction([.integer, .string]) { arguments, context throws(FunctionFailure) in
            let count = arguments.integer(0)
            let text = arguments.string(1)
            guard count >= 0 else { throw FunctionFailure("strings: negative Repeat count") }
            let (size, overflow) = count.multipliedReportingOverflow(by: Int64(text.utf8.count))
            guard !overflow, size <= Int64(context.sizeLimit) else {
                throw FunctionFailure(
                    "repeat would build \(overflow ? "more than Int64.max" : String(size)) bytes, over the \(context.sizeLimit)-byte limit"
                )
            }
            return .string(String(repeating: text, count: Int(count)))
        },
        "indent": TemplateFunction([.integer, .string]) { arguments, context throws(FunctionFailure) in
            .string(try indent(arguments.integer(0), arguments.string(1), limit: context.sizeLimit))
        },
        "nindent": TemplateFunction([.integer, .string]) { arguments, context throws(FunctionFailure) in
            .string("\n" + (try indent(arguments.integer(0), arguments.string(1), limit: context.sizeLimit)))
        },
        "quote": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(
                arguments.compactMap { value -> String? in
                    guard let value, value != .null else { return nil }
                    return GoFormatter.quote(SprigConversions.string(value), asciiOnly: false)
                }.joined(separator: " "))
        },
        "squote": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(
                arguments.compactMap { value -> String? in
                    guard let value, value != .null else { return nil }
                    return "'" + SprigConversions.string(value) + "'"
                }.joined(separator: " "))
        },
        "cat": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(arguments.compactMap { $0 == .null ? nil : $0 }.map(GoFormatter.string).joined(separator: " "))
        },
        "toString": TemplateFunction([.any]) { arguments, _ in .string(SprigConversions.string(arguments.value(0))) },
        "splitList": TemplateFunction([.string, .string]) { arguments, _ in
            .array(ByteStrings.split(arguments.string(1), separator: arguments.string(0)).map(GoValue.string))
        },
        "split": TemplateFunction([.string, .string]) { arguments, _ in
            let pieces = ByteStrings.split(arguments.string(1), separator: arguments.string(0))
            var members: [String: GoValue] = [:]
            for (index, piece) in pieces.enumerated() { members["_\(index)"] = .string(piece) }
            return .object(members)
        },
        "join": TemplateFunction([.string, .any]) { arguments, _ in
            .string(SprigConversions.strings(arguments.value(1)).joined(separator: arguments.string(0)))
        },
        "toStrings": TemplateFunction([.any]) { arguments, _ in
            .array(SprigConversions.strings(arguments.value(0)).map(GoValue.string))
        },
        "sortAlpha": TemplateFunction([.any]) { arguments, _ in
            .array(SprigConversions.strings(arguments.value(0)).sorted(by: GoFormatter.lessByBytes).map(GoValue.string))
        },
    ]

    private static func stringFunction(_ transform: @escaping @Sendable (String) -> String) -> TemplateFunction {
        TemplateFunction([.string]) { arguments, _ in .string(transform(arguments.string(0))) }
    }

    /// Go's per-rune case mapping: a rune whose mapping is more than one rune stays as it is.
    private static func mapScalars(_ text: String, _ mapping: (Unicode.Scalar) -> String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let mapped = mapping(scalar).unicodeScalars
            if mapped.count == 1, let single = mapped.first {
                scalars.append(single)
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// `strings.Title`: upper-cases the first letter of each word (words split at spaces and
    /// punctuation).
    private static func title(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            if isSeparator(previous) {
                let mapped = scalar.properties.titlecaseMapping.unicodeScalars
                scalars.append(mapped.count == 1 ? (mapped.first ?? scalar) : scalar)
            } else {
                scalars.append(scalar)
            }
            previous = scalar
        }
        return String(scalars)
    }

    private static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            let isAlphanumeric =
                (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
            return !(isAlphanumeric || scalar == "_")
        }
        if scalar.properties.isAlphabetic || scalar.properties.numericType != nil { return false }
        return scalar.properties.isWhitespace
    }

    private static func trim(_ text: String, where shouldTrim: (Unicode.Scalar) -> Bool) -> String {
        let scalars = Array(text.unicodeScalars)
        var start = 0
        var end = scalars.count
        while start < end, shouldTrim(scalars[start]) { start += 1 }
        while end > start, shouldTrim(scalars[end - 1]) { end -= 1 }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }

    private static func indent(_ spaces: Int64, _ text: String, limit: Int) throws(FunctionFailure) -> String {
        guard spaces >= 0 else { throw FunctionFailure("strings: negative Repeat count") }
        let lines = Int64(text.utf8.filter { $0 == UInt8(ascii: "\n") }.count + 1)
        let (padding, overflow) = spaces.multipliedReportingOverflow(by: lines)
        guard !overflow, padding + Int64(text.utf8.count) <= Int64(limit) else {
            throw FunctionFailure("indent would build more than \(limit) bytes")
        }
        let pad = String(repeating: " ", count: Int(spaces))
        return pad + ByteStrings.replace(text, old: "\n", new: "\n" + pad)
    }
}
