import Foundation

/// RFC 3339 times of AnalysisRun statuses (`2026-11-28T12:00:05Z`, or `...05.250Z` with a fraction).
///
/// Milliseconds are kept because the next measurement is due `interval` after the previous one
/// finished; rounding to whole seconds would make measurements up to a second early.
enum AnalysisTimestamp {
    static func format(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let milliseconds = Int(((totalMilliseconds % 1000) + 1000) % 1000)
        let seconds = (totalMilliseconds - Int64(milliseconds)) / 1000
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = RFC3339.civilDate(daysSinceEpoch: days)
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if milliseconds != 0 { text += ".\(pad(milliseconds, 3))" }
        return text + "Z"
    }

    /// Parses what `format` writes, and any other RFC 3339 time.
    static func parse(_ text: String) -> Date? {
        RFC3339.parse(text)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
