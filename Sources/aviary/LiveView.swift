import ArgumentParser
import AviaryModel
import AviaryServer
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whether to colour output: a terminal on stdout, no `--no-color`, no `NO_COLOR` in the environment.
func useColour(noColor: Bool) -> Bool {
    !noColor && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
}

/// A duration option (`30s`, `5m`, `1h30m`, or bare seconds), validated when parsed.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Double

    init?(argument: String) {
        guard let duration = try? ArgoDuration(argument) else { return nil }
        seconds = duration.seconds
    }
}

/// Redraws a frame in place until Ctrl-C: cursor home, each line followed by clear-to-end-of-line,
/// then clear-to-end-of-screen, so nothing flickers. When the daemon cannot be reached the last
/// frame stays with a line saying so, and drawing resumes once it answers again.
enum LiveView {
    static func run(
        interval: Duration = .milliseconds(500), frame: @Sendable () async throws(APIClient.Failure) -> String
    )
        async -> Never
    {
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        signal(SIGINT, SIG_IGN)
        interrupt.setEventHandler {
            FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
            exit(0)
        }
        interrupt.resume()
        FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8))
        var last = ""
        while true {
            var text: String
            do {
                text = try await frame()
                last = text
            } catch {
                text =
                    last + "\n\n" + error.description.split(separator: "\n").first.map(String.init)!
                    + "\n(retrying every second; Ctrl-C to stop)"
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let drawn = "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
            FileHandle.standardOutput.write(Data(drawn.utf8))
            try? await Task.sleep(for: interval)
        }
    }
}
