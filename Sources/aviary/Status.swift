import ArgumentParser
import AviaryClient
import AviaryModel
import Foundation

/// `aviary status ROLLOUT [--watch] [--timeout DURATION]`: a CI gate.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a rollout's `Phase - message`; with --watch, wait until it is done.",
        discussion: """
            With --watch prints each change and exits 0 when the rollout is Healthy, 1 when it is \
            Degraded or aborted, 2 when --timeout passes first: usable as a pipeline gate. A status \
            is only judged once the daemon has reconciled the latest spec.

            Examples:
              aviary status web
              aviary set image web app=sample-app:green && aviary status web --watch --timeout 10m
            """)

    @ArgumentParser.Argument(help: "The rollout's name.")
    var rollout: String

    @Flag(name: .shortAndLong, help: "Wait until Healthy (exit 0), Degraded (exit 1) or the timeout (exit 2).")
    var watch = false

    @Option(name: .shortAndLong, help: "With --watch: give up after this long (30s, 10m); default: never.")
    var timeout: DurationArgument?

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if timeout != nil && !watch { throw ValidationError("--timeout only applies with --watch") }
    }

    func run() async throws {
        let client = options.client
        guard watch else {
            do {
                print(StatusLine.text(try await client.rollout(rollout, namespace: options.namespace)))
                return
            } catch {
                throw fail(error)
            }
        }
        // Follows the rollout's watch stream: each line is the rollout as just written, so a change
        // is printed (and judged) as soon as the daemon commits it.
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0.seconds * 1000)) }
        var printed = ""
        var unreachable = false
        var verdict = StatusLine.Verdict.undecided
        while verdict == .undecided {
            let remaining = deadline.map { $0 - ContinuousClock.now }
            if let remaining, remaining <= .zero { break }
            let path = APIClient.watchPath(
                rollout: rollout, namespace: options.namespace, owned: false,
                timeoutSeconds: remaining.map { Double($0.components.seconds) + 1 })
            do {
                _ = try await client.follow(path) { line in
                    unreachable = false
                    guard let current = try? APIClient.rollout(from: line) else { return true }
                    let text = StatusLine.text(current)
                    if text != printed {
                        print(text)
                        printed = text
                    }
                    verdict = StatusLine.verdict(current)
                    return verdict == .undecided
                }
            } catch {
                // 404 is final; an unreachable daemon may come back before the deadline.
                if error.status != nil { throw fail(error) }
                if !unreachable { printError(error.description + " (retrying)") }
                unreachable = true
                try await Task.sleep(for: min(.seconds(1), remaining ?? .seconds(1)))
            }
        }
        switch verdict {
        case .healthy: return
        case .degraded: throw ExitCode(1)
        case .undecided:
            printError("timed out after \(Int(timeout?.seconds ?? 0))s waiting for rollout \"\(rollout)\" (\(printed))")
            throw ExitCode(2)
        }
    }
}

/// The pure part of `status`: the line and the verdict.
enum StatusLine {
    enum Verdict: Equatable { case healthy, degraded, undecided }

    /// `Phase - message`, or `Phase` alone.
    static func text(_ rollout: Rollout) -> String {
        let phase = rollout.status?.phase?.rawValue ?? "Progressing"
        guard let message = rollout.status?.message, !message.isEmpty else { return phase }
        return "\(phase) - \(message)"
    }

    /// Healthy or Degraded once the status reflects the current spec generation; else undecided.
    /// An abort decides nothing by itself: `abort` writes `status.abort` before the controller has
    /// acted on it, and the verdict waits for the controller's Degraded, so the last line printed
    /// is the one that explains the exit status.
    static func verdict(_ rollout: Rollout) -> Verdict {
        if let generation = rollout.metadata.generation, rollout.status?.observedGeneration != String(generation) {
            return .undecided
        }
        switch rollout.status?.phase {
        case .healthy: return .healthy
        case .degraded: return .degraded
        default: return .undecided
        }
    }
}
