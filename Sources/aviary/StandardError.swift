import Foundation

/// Standard error as a `TextOutputStream` for `print(_:to:)`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// Writes one line, prefixed `error: `, to standard error.
func printError(_ text: String) {
    var standardError = StandardError()
    print("error: \(text)", to: &standardError)
}

/// Writes one line, as it is, to standard error (a diagnostic that carries its own `warning: `).
func printToStandardError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}
