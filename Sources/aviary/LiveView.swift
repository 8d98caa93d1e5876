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
/// daemon's watch stream `watchPath` (in cluster mode: when a watch of the API server sends an
/// event), and every `refresh` so that ages and timers move. When the daemon (or API server) cannot
/// be reached the last frame stays with a line saying so; the stream is opened again every second
/// and drawing resumes once it answers.
///
/// When standard output is not a terminal (a pipe, a file, a CI log) it writes no escape codes:
/// each frame that differs from the one before is printed whole, followed by a blank line.
/// SIGINT, SIGTERM and SIGHUP all give the cursor back before the process exits.
enum LiveView {
    /// What to write for `frame`, or nil when nothing should be written (plain output repeats no
    /// frame).
    static func output(for frame: String, previous: String?, isTerminal: Bool) -> String? {
        let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
        guard isTerminal else {
            guard frame != previous else { return nil }
            return lines.joined(separator: "\n") + "\n\n"
        }
        return "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
    }

    /// The exit status after `signal`: 0 for Ctrl-C, which is how a watch is meant to end; 128 + the
    /// signal's number otherwise, as a shell reports a process ended by it.
    static func exitStatus(after signal: Int32) -> Int32 {
        signal == SIGINT ? 0 : 128 + signal
    }

    /// Follows the daemon's watch stream `watchPath`: a frame for each line, and when the stream
    /// ends or fails (the stream is opened again a second later).
    static func run(
        client: APIClient, watchPath: String, refresh: Duration = .seconds(5),
        frame: @escaping @Sendable () async throws -> String
    ) async -> Never {
        await run(
            changes: { redraw in
                while true {
                    _ = try? await client.follow(watchPath) { _ in
                        redraw()
                        return true
                    }
                    // The stream ended (the daemon's timeout) or failed (the daemon is gone): draw what
                    // is known now, and open it again.
                    redraw()
                    try? await Task.sleep(for: .seconds(1))
                }
            }, refresh: refresh, frame: frame)
    }

    /// Draws a frame whenever `changes` calls the function it is given (a daemon's watch stream, an API
    /// server's watches), and every `refresh`.
    static func run(
        changes: @escaping @Sendable (_ redraw: @escaping @Sendable () -> Void) async -> Void,
        refresh: Duration = .seconds(5), frame: @escaping @Sendable () async throws -> String
    ) async -> Never {
        let isTerminal = isatty(STDOUT_FILENO) == 1
        let signalSources = [SIGINT, SIGTERM, SIGHUP].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
            signal(number, SIG_IGN)
            source.setEventHandler {
                if isTerminal { FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8)) }
                exit(exitStatus(after: number))
            }
            source.resume()
            return source
        }
        if isTerminal { FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8)) }
        // Redraw requests; a burst of changes while a frame is drawn becomes one more frame.
        let (redraws, redraw) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        Task { await changes { redraw.yield() } }
        Task {
            while true {
                try? await Task.sleep(for: refresh)
                redraw.yield()
            }
        }
        var last = ""
        var written: String?
        for await _ in redraws {
            var text: String
            do {
                text = try await frame()
                last = text
            } catch {
                text =
                    last + "\n\n" + ("\(error)".split(separator: "\n").first.map(String.init) ?? "")
                    + "\n(retrying every second; Ctrl-C to stop)"
            }
            if let output = output(for: text, previous: written, isTerminal: isTerminal) {
                FileHandle.standardOutput.write(Data(output.utf8))
                written = text
            }
        }
        withExtendedLifetime(signalSources) {}
        fatalError("the redraw stream never finishes")
    }
}
