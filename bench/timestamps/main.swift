import AviaryModel
import Foundation

// The project's RFC 3339 codec (`RFC3339` in AviaryModel, written by hand) against Foundation's
// `Date.ISO8601FormatStyle`, each style built once: parsing whole-second and millisecond times,
// and formatting whole seconds. Prints nanoseconds per call, the best of ROUNDS rounds.

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let rounds = 5
let start = 1_786_960_800.0
let wholeDates = (0..<count).map { Date(timeIntervalSince1970: start + Double($0) * 97) }
let millisecondDates = (0..<count).map { Date(timeIntervalSince1970: start + Double($0) * 97 + 0.125) }
let wholeTexts = wholeDates.map { RFC3339.format($0) }
let millisecondTexts = millisecondDates.map { RFC3339.format($0, milliseconds: true) }
let plainStyle = Date.ISO8601FormatStyle()
let fractionalStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

/// The best time of `rounds` runs of `body` over `count` items, in nanoseconds per item.
func measure(_ body: () -> Int) -> Double {
    var best = Duration.seconds(1_000)
    var check = 0
    for _ in 0..<rounds {
        let elapsed = ContinuousClock().measure { check &+= body() }
        best = min(best, elapsed)
    }
    precondition(check != 42, "keeps the work alive")
    return Double(best.components.seconds) * 1e9 / Double(count) + Double(best.components.attoseconds) / 1e9
        / Double(count)
}

func parseAll(_ texts: [String], _ parse: (String) -> Date?, expecting dates: [Date]) -> Int {
    var matched = 0
    for (text, date) in zip(texts, dates) where parse(text) == date { matched += 1 }
    precondition(matched == texts.count, "a parser disagreed: \(matched) of \(texts.count)")
    return matched
}

func formatAll(_ format: (Date) -> String) -> Int {
    var total = 0
    for (date, text) in zip(wholeDates, wholeTexts) {
        let formatted = format(date)
        precondition(formatted == text, "\(formatted) != \(text)")
        total &+= formatted.utf8.count
    }
    return total
}

let rows: [(String, Double)] = [
    ("parse whole seconds, RFC3339", measure { parseAll(wholeTexts, RFC3339.parse, expecting: wholeDates) }),
    (
        "parse whole seconds, ISO8601FormatStyle",
        measure { parseAll(wholeTexts, { try? plainStyle.parse($0) }, expecting: wholeDates) }
    ),
    ("parse milliseconds, RFC3339", measure { parseAll(millisecondTexts, RFC3339.parse, expecting: millisecondDates) }),
    (
        "parse milliseconds, ISO8601FormatStyle",
        measure { parseAll(millisecondTexts, { try? fractionalStyle.parse($0) }, expecting: millisecondDates) }
    ),
    ("format whole seconds, RFC3339", measure { formatAll { RFC3339.format($0) } }),
    ("format whole seconds, ISO8601FormatStyle", measure { formatAll { plainStyle.format($0) } }),
]
print("\(count) times per round, best of \(rounds) rounds")
for (name, nanoseconds) in rows {
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%8.1f ns", nanoseconds))
}
