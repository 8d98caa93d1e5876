import AviaryClient
import AviaryModel
import Foundation

/// A line a condition draws on a metric's chart: `result[0] >= 0.95` is a success line at 0.95.
public struct Threshold: Sendable, Equatable {
    /// success or failure: which condition it came from.
    public var kind: Kind
    /// `>=`, `>`, `<=`, `<` or `==`, with the result on the left.
    public var comparison: String
    /// The value the result is compared with.
    public var value: Double

    public enum Kind: String, Sendable { case success, failure }

    public init(kind: Kind, comparison: String, value: Double) {
        self.kind = kind
        self.comparison = comparison
        self.value = value
    }

    /// The line's label: `success ≥ 0.95`.
    public var label: String {
        let symbol =
            switch comparison {
            case ">=": "≥"
            case "<=": "≤"
            default: comparison
            }
        return "\(kind.rawValue) \(symbol) \(HTML.number(value, decimals: 4))"
    }

    /// The line of a condition that is one comparison of the (first) result with a number, such as
    /// `result[0] >= 0.95`, `result < 100` or `0.5 > asFloat(result[0])`; nil for any other
    /// condition (`len(result) == 0 || ...`, two comparisons, a comparison with an argument),
    /// which the chart leaves without a line.
    public static func parse(_ condition: String?, kind: Kind) -> Threshold? {
        guard let condition else { return nil }
        let text = condition.filter { !$0.isWhitespace }
        for comparison in [">=", "<=", "==", ">", "<"] {
            guard let range = text.range(of: comparison) else { continue }
            let left = String(text[..<range.lowerBound])
            let right = String(text[range.upperBound...])
            if isResult(left), let value = Double(right), value.isFinite {
                return Threshold(kind: kind, comparison: comparison, value: value)
            }
            if isResult(right), let value = Double(left), value.isFinite {
                // `0.5 > result` is `result < 0.5`.
                let flipped = ["<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "=="][comparison] ?? comparison
                return Threshold(kind: kind, comparison: flipped, value: value)
            }
            return nil
        }
        return nil
    }

    static func isResult(_ text: String) -> Bool {
        var inner = text
        for function in ["asFloat(", "asInt(", "float(", "int("] where inner.hasPrefix(function) && inner.hasSuffix(")")
        {
            inner = String(inner.dropFirst(function.count).dropLast())
        }
        return inner == "result" || inner == "result[0]"
    }
}

/// One metric's measurements drawn over time as SVG, with the thresholds its conditions set.
public enum MetricChart {
    /// A measurement as a point: its number (the first of a vector), when, and its phase.
    public struct Point: Sendable, Equatable {
        public var value: Double
        public var time: Date?
        public var phase: AnalysisPhase
        public var text: String
    }

    /// The number of a measurement's value: `0.99`, `[0.99]` or `[0.99, 3]` (the first), nil for
    /// anything else (an object, text, an empty vector, NaN).
    public static func number(_ value: String?) -> Double? {
        guard var text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.hasPrefix("[") {
            text = String(text.dropFirst().prefix { $0 != "," && $0 != "]" }).trimmingCharacters(in: .whitespaces)
        }
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        guard let number = Double(text), number.isFinite else { return nil }
        return number
    }

    /// The points of a metric's measurements that have a number, oldest first.
    public static func points(_ measurements: [AviaryModel.Measurement]) -> [Point] {
        measurements.compactMap { measurement in
            guard let value = number(measurement.value) else { return nil }
            let time = Style.date(measurement.finishedAt) ?? Style.date(measurement.startedAt)
            return Point(value: value, time: time, phase: measurement.phase, text: measurement.value ?? "")
        }
    }

    static let width = 560.0
    static let height = 180.0
    static let left = 56.0
    static let right = 140.0
    static let top = 12.0
    static let bottom = 28.0

    /// The chart: the measurements as a line of points coloured by phase (a hover shows value,
    /// time and phase), the thresholds as dashed lines with their labels, the value axis with
    /// its range. A metric with no numeric measurement gets a sentence instead.
    public static func svg(
        metric name: String, measurements: [AviaryModel.Measurement], thresholds: [Threshold]
    ) -> HTML {
        let points = points(measurements)
        guard !points.isEmpty else {
            return "<p class=\"muted\">No numeric measurement of \(name) yet.</p>"
        }
        var low = points.map(\.value).min()!
        var high = points.map(\.value).max()!
        for threshold in thresholds {
            low = min(low, threshold.value)
            high = max(high, threshold.value)
        }
        if high == low {
            let pad = high == 0 ? 1 : abs(high) * 0.1
            low -= pad
            high += pad
        } else {
            let pad = (high - low) * 0.08
            low -= pad
            high += pad
        }
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func y(_ value: Double) -> Double { top + (high - value) / (high - low) * plotHeight }
        // Points by time where every one has a time, else by order.
        let times = points.compactMap(\.time)
        let x: (Int) -> Double
        if times.count == points.count, let first = times.min(), let last = times.max(), last > first {
            let span = last.timeIntervalSince(first)
            x = { index in left + points[index].time!.timeIntervalSince(first) / span * plotWidth }
        } else {
            x = { index in
                points.count == 1 ? left + plotWidth / 2 : left + Double(index) / Double(points.count - 1) * plotWidth
            }
        }
        var body: [HTML] = []
        // The frame and the value axis.
        body.append(
            "<rect class=\"frame\" x=\"\(left, decimals: 1)\" y=\"\(top, decimals: 1)\" width=\"\(plotWidth, decimals: 1)\" height=\"\(plotHeight, decimals: 1)\"/>"
        )
        for value in [high, (high + low) / 2, low] {
            body.append(
                "<text class=\"axis\" x=\"\(left - 6, decimals: 1)\" y=\"\(y(value) + 4, decimals: 1)\" text-anchor=\"end\">\(HTML.number(value, decimals: 3))</text>"
            )
        }
        if let first = times.min(), let last = times.max() {
            body.append(
                "<text class=\"axis\" x=\"\(left, decimals: 1)\" y=\"\(height - 8, decimals: 1)\">\(clock(first))</text>"
            )
            body.append(
                "<text class=\"axis\" x=\"\(left + plotWidth, decimals: 1)\" y=\"\(height - 8, decimals: 1)\" text-anchor=\"end\">\(clock(last))</text>"
            )
        }
        // Labels of lines at (nearly) the same height are moved apart so both can be read.
        var labelYs: [Double] = []
        for threshold in thresholds.sorted(by: { $0.value > $1.value }) {
            let lineY = y(threshold.value)
            var labelY = lineY + 4
            while labelYs.contains(where: { abs($0 - labelY) < 13 }) { labelY += 13 }
            labelYs.append(labelY)
            body.append(
                "<line class=\"threshold \(threshold.kind.rawValue)\" x1=\"\(left, decimals: 1)\" x2=\"\(left + plotWidth, decimals: 1)\" y1=\"\(lineY, decimals: 1)\" y2=\"\(lineY, decimals: 1)\"/>"
            )
            body.append(
                "<text class=\"threshold-label \(threshold.kind.rawValue)\" x=\"\(left + plotWidth + 6, decimals: 1)\" y=\"\(labelY, decimals: 1)\">\(threshold.label)</text>"
            )
        }
        if points.count > 1 {
            let line = points.indices.map {
                "\(HTML.number(x($0), decimals: 1)),\(HTML.number(y(points[$0].value), decimals: 1))"
            }
            body.append("<polyline class=\"series\" points=\"\(line.joined(separator: " "))\"/>")
        }
        for index in points.indices {
            let point = points[index]
            let when = point.time.map { " at " + clock($0) } ?? ""
            body.append(
                "<circle class=\"point \(point.phase.rawValue.lowercased())\" cx=\"\(x(index), decimals: 1)\" cy=\"\(y(point.value), decimals: 1)\" r=\"4\"><title>\(point.text)\(when): \(point.phase.rawValue)</title></circle>"
            )
        }
        let summary =
            "\(name): \(points.count) measurements from \(HTML.number(points.map(\.value).min()!, decimals: 4)) to \(HTML.number(points.map(\.value).max()!, decimals: 4))"
            + thresholds.map { "; \($0.label)" }.joined()
        return """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(summary)" data-metric="\(name)">\
            <title>\(summary)</title>\(body)</svg>
            """
    }

    /// `14:03:07` (UTC): the time of a measurement on the axis.
    static func clock(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let day = ((seconds % 86400) + 86400) % 86400
        return String(format: "%02d:%02d:%02d", day / 3600, day / 60 % 60, day % 60)
    }
}
