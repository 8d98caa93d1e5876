/// A piece of HTML (or SVG) that is safe to put in a page: text interpolated into it is escaped,
/// only another `HTML` goes in as markup. A rollout's message, an image name or a label never
/// reaches the page as markup, however it was written.
///
///     let cell: HTML = "<td class=\"name\">\(rollout.name)</td>"   // the name is escaped
///     let row: HTML = "<tr>\(cell)</tr>"                              // the cell is markup
public struct HTML: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// The markup.
    public private(set) var text: String

    /// Markup as it is: only for text this program wrote.
    public init(raw: String) { text = raw }

    public init(stringLiteral value: String) { text = value }

    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    public var description: String { text }

    /// The empty piece.
    public static let empty = HTML(raw: "")

    /// Pieces one after another.
    public init(joining pieces: some Sequence<HTML>, separator: String = "") {
        text = pieces.map(\.text).joined(separator: separator)
    }

    /// Appends a piece.
    public static func += (left: inout HTML, right: HTML) { left.text += right.text }

    /// Builds markup: literal parts as written, interpolated text escaped.
    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        /// Text: escaped, so `<script>` shows as text.
        public mutating func appendInterpolation(_ value: String) { HTML.escape(value, into: &text) }

        /// An optional text: nothing when nil.
        public mutating func appendInterpolation(_ value: String?) {
            if let value { HTML.escape(value, into: &text) }
        }

        /// A number.
        public mutating func appendInterpolation(_ value: Int) { text += String(value) }

        /// A number with at most `decimals` decimals (SVG coordinates).
        public mutating func appendInterpolation(_ value: Double, decimals: Int = 1) {
            text += HTML.number(value, decimals: decimals)
        }

        /// Markup.
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }

        /// Markup pieces one after another.
        public mutating func appendInterpolation(_ values: [HTML]) {
            for value in values { text += value.text }
        }
    }

    /// `&`, `<`, `>`, `"` and `'` as entities: safe in element text and in quoted attribute values.
    public static func escape(_ value: String) -> String {
        var text = ""
        escape(value, into: &text)
        return text
    }

    static func escape(_ value: String, into text: inout String) {
        // Most values need no escape: append them whole.
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 })
        else {
            text += value
            return
        }
        for character in value.unicodeScalars {
            switch character {
            case "&": text += "&amp;"
            case "<": text += "&lt;"
            case ">": text += "&gt;"
            case "\"": text += "&quot;"
            case "'": text += "&#39;"
            default: text.unicodeScalars.append(character)
            }
        }
    }

    /// `value` with at most `decimals` decimals and no trailing zeros (`12.5`, `3`, `-0.25`).
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(rounded)
        if text.contains("e") { text = String(format: "%.\(decimals)f", rounded) }
        return text
    }
}

#if canImport(Foundation)
    import Foundation
#endif
