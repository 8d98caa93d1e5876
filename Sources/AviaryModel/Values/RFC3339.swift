import Foundation

/// RFC 3339 times as statuses, events and the store keep them (`2026-08-17T10:00:00Z`, or
/// `...00.250Z` with milliseconds): the one codec of the project, formatted and parsed by hand.
/// A reconcile touches several per rollout; `bench/timestamps/run` measures this parser and
/// formatter against Foundation's `Date.ISO8601FormatStyle`, and they are the faster.
public enum RFC3339 {
    /// Formats `date` in UTC with whole seconds (rounded down), as Kubernetes' `metav1.Time`
    /// does; with `milliseconds`, to the nearest millisecond, written only when not zero
    /// (AnalysisRun times: the next measurement is due `interval` after the last finished, and
    /// whole seconds would make it up to a second early).
    public static func format(_ date: Date, milliseconds: Bool = false) -> String {
        let totalMilliseconds =
            milliseconds
            ? Int((date.timeIntervalSince1970 * 1000).rounded()) : Int(date.timeIntervalSince1970.rounded(.down)) * 1000
        let millisecond = (totalMilliseconds % 1000 + 1000) % 1000
        let seconds = (totalMilliseconds - millisecond) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        guard (0...9999).contains(year) else { return String(seconds) }
        // ASCII bytes written in place: this runs for every condition of every reconcile.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(48 + value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            buffer[4] = 45
            put(month, 2, at: 5)
            buffer[7] = 45
            put(day, 2, at: 8)
            buffer[10] = 84
            put(secondOfDay / 3600, 2, at: 11)
            buffer[13] = 58
            put(secondOfDay % 3600 / 60, 2, at: 14)
            buffer[16] = 58
            put(secondOfDay % 60, 2, at: 17)
            guard millisecond != 0 else {
                buffer[19] = 90
                return 20
            }
            buffer[19] = 46
            put(millisecond, 3, at: 20)
            buffer[23] = 90
            return 24
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 116,
            bytes[13] == 58, bytes[16] == 58
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 46 {
            index += 1
            var scale = 0.1
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case 90, 122:
            guard index + 1 == bytes.count else { return nil }
        case 43, 45:
            guard index + 6 == bytes.count, bytes[index + 3] == 58, let hours = number(index + 1..<index + 3),
                let minutes = number(index + 4..<index + 6)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 43 ? 1 : -1)
        default: return nil
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Howard Hinnant's `civil_from_days`.
    static func civilDate(daysSinceEpoch days: Int) -> (Int, Int, Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's `days_from_civil`.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let adjustedYear = month <= 2 ? year - 1 : year
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
