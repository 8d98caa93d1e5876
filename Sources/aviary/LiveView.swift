import ArgumentParser
import AviaryClient
import AviaryModel
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
/// then clear-to-end-of-screen, so nothing flickers. A frame is drawn when a line arrives on the
/// daemon's watch stream `watchPath`, and every `refresh` so that ages and timers move. When the
/// daemon cannot be reached the last frame stays with a line saying so; the stream is opened
/// again every second and drawing resumes once the daemon answers.
enum LiveView {
    static func run(
        client: APIClient, watchPath: String, refresh: Duration = .seconds(5),
        frame: @escaping @Sendable () async throws(APIClient.Failure) -> String
    ) async -> Never {
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        signal(SIGINT, SIG_IGN)
        interrupt.setEventHandler {
            FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
            exit(0)
        }
        interrupt.resume()
        FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8))
        // Redraw requests; a burst of lines while a frame is drawn becomes one more frame.
        let (redraws, redraw) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        Task {
            while true {
                _ = try? await client.follow(watchPath) { _ in
                    redraw.yield()
                    return true
                }
                // The stream ended (the daemon's timeout) or failed (the daemon is gone): draw what
                // is known now, and open it again.
                redraw.yield()
                try? await Task.sleep(for: .seconds(1))
            }
        }
        Task {
            while true {
                try? await Task.sleep(for: refresh)
                redraw.yield()
            }
        }
        var last = ""
        for await _ in redraws {
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
        }
        fatalError("the redraw stream never finishes")
    }
}
