/// Estimates how deeply a YAML (or JSON) text nests, without parsing it.
///
/// The YAML composer and `Codable` recurse once per level, so a document nested 10,000 deep
/// would overflow the stack. This scan is iterative and runs first; it over-estimates rather
/// than under-estimates (block indentation levels plus open flow brackets plus `- ` markers).
struct YAMLDepthScanner {
    /// The nesting found first to go beyond the limit: its depth and 1-based line.
    struct Excess: Equatable {
        /// The estimated depth.
        var depth: Int
        /// The line where it was reached.
        var line: Int
    }

    /// Returns where `text` first nests deeper than `limit`, or nil when it stays within.
    static func firstExcess(in text: String, limit: Int) -> Excess? {
        var indents: [Int] = []
        var flowDepth = 0
        var quote: UInt8? = nil
        var blockScalarIndent: Int? = nil
        var lineNumber = 0
        let space = UInt8(ascii: " ")
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = Array(line)
            var position = 0
            while position < bytes.count, bytes[position] == space { position += 1 }
            let indent = position
            let isBlank = position == bytes.count || bytes[position] == UInt8(ascii: "\r")
            if let scalarIndent = blockScalarIndent {
                if isBlank || indent > scalarIndent { continue }
                blockScalarIndent = nil
            }
            if isBlank || (quote == nil && bytes[position] == UInt8(ascii: "#")) { continue }
            if quote == nil, flowDepth == 0,
                bytes.starts(with: Array("---".utf8)) || bytes.starts(with: Array("...".utf8))
            {
                indents.removeAll()
                continue
            }
            if quote == nil, flowDepth == 0 {
                while let last = indents.last, last >= indent { indents.removeLast() }
                indents.append(indent)
            }
            var dashes = 0
            var previous: UInt8 = space
            var lastSignificant: UInt8 = space
            var lineMaximum = 0
            while position < bytes.count {
                let byte = bytes[position]
                if let open = quote {
                    if open == UInt8(ascii: "\"") && byte == UInt8(ascii: "\\") {
                        position += 2
                        continue
                    }
                    if byte == open { quote = nil }
                } else {
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "'"):
                        if flowDepth > 0 || previous == space || previous == UInt8(ascii: ":") {
                            quote = byte
                        }
                    case UInt8(ascii: "#") where previous == space:
                        position = bytes.count
                        continue
                    case UInt8(ascii: "-") where flowDepth == 0 && previous == space:
                        if position + 1 == bytes.count || bytes[position + 1] == space { dashes += 1 }
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        if flowDepth > 0 || lastSignificant == space || lastSignificant == UInt8(ascii: ":")
                            || lastSignificant == UInt8(ascii: "-")
                        {
                            flowDepth += 1
                        }
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        if flowDepth > 0 { flowDepth -= 1 }
                    default:
                        break
                    }
                }
                lineMaximum = max(lineMaximum, indents.count + dashes + flowDepth)
                if lineMaximum > limit { return Excess(depth: lineMaximum, line: lineNumber) }
                previous = byte
                if byte != space { lastSignificant = byte }
                position += 1
            }
            if quote == nil, flowDepth == 0,
                lastSignificant == UInt8(ascii: "|") || lastSignificant == UInt8(ascii: ">")
                    || Self.endsWithBlockScalarHeader(bytes)
            {
                blockScalarIndent = indent
            }
        }
        return nil
    }

    /// Whether the line ends with a block scalar header such as `|`, `|-`, `>+` or `|2`.
    private static func endsWithBlockScalarHeader(_ bytes: [UInt8]) -> Bool {
        var trimmed = bytes[...]
        while let last = trimmed.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\r") {
            trimmed = trimmed.dropLast()
        }
        var header = 0
        while let last = trimmed.last,
            last == UInt8(ascii: "-") || last == UInt8(ascii: "+")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(last), header < 3
        {
            trimmed = trimmed.dropLast()
            header += 1
        }
        guard header > 0, let indicator = trimmed.last else { return false }
        return indicator == UInt8(ascii: "|") || indicator == UInt8(ascii: ">")
    }
}
