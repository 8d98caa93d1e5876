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

            In cluster mode (--kubeconfig, --context or --kubernetes) it reads the Rollout's \
            Argo-shaped status from the API server, and --watch follows the API server's watch of \
            it: judged once status.observedGeneration is the Rollout's generation, whichever \
            controller (Aviary's or Argo's) writes it.

            Examples:
              aviary status web
              aviary set image web app=sample-app:green && aviary status web --watch --timeout 10m
              aviary status web --watch --timeout 10m --kubeconfig ~/.kube/config -n shop
            """)

    @ArgumentParser.Argument(help: "The rollout's name.")
    var rollout: String

    @Flag(name: .shortAndLong, help: "Wait until Healthy (exit 0), Degraded (exit 1) or the timeout (exit 2).")
    var watch = false

    @Option(name: .shortAndLong, help: "With --watch: give up after this long (30s, 10m); default: never.")
    var timeout: DurationArgument?

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        if timeout != nil && !watch { throw ValidationError("--timeout only applies with --watch") }
        try cluster.validate(with: options)
    }

    func run() async throws {
        if cluster.isClusterMode {
            try await runOnCluster()
            return
        }
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
        try conclude(with: verdict, printed: printed)
    }

    /// Exit 0 when Healthy, 1 when Degraded, 2 (with a line saying so) when the timeout came first.
    func conclude(with verdict: StatusLine.Verdict, printed: String) throws {
        switch verdict {
        case .healthy: return
        case .degraded: throw ExitCode(1)
        case .undecided:
            printError("timed out after \(Int(timeout?.seconds ?? 0))s waiting for rollout \"\(rollout)\" (\(printed))")
            throw ExitCode(2)
        }
    }

    /// `status` on a cluster: the API server's watch of the Rollout instead of the daemon's stream.
    func runOnCluster() async throws {
        let rollout = rollout
        guard watch else {
            print(StatusLine.text(try await cluster.run(options) { client throws(ClusterFailure) in try await client.rollout(rollout) }))
            return
        }
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0.seconds * 1000)) }
        let printed = PrintedLine()
        let verdict = try await cluster.run(options) { client throws(ClusterFailure) -> StatusLine.Verdict in
            let result = await withTaskGroup(of: Result<StatusLine.Verdict, ClusterFailure>.self) { group in
                group.addTask {
                    var verdict = StatusLine.Verdict.undecided
                    do throws(ClusterFailure) {
                        try await client.followRollout(rollout) { current in
                            await printed.print(StatusLine.text(current))
                            verdict = StatusLine.verdict(current)
                            return verdict == .undecided
                        }
                    } catch {
                        return .failure(error)
                    }
                    return .success(verdict)
                }
                if let deadline {
                    group.addTask {
                        try? await Task.sleep(until: deadline)
                        return .success(.undecided)
                    }
                }
                let first = await group.next() ?? .success(.undecided)
                group.cancelAll()
                return first
            }
            return try result.get()
        }
        try conclude(with: verdict, printed: await printed.text)
    }
}

/// The last `Phase - message` line `status --watch` printed; a line equal to it is not printed again.
actor PrintedLine {
    private(set) var text = ""

    func print(_ line: String) {
        guard line != text else { return }
        Swift.print(line)
        // A CI log is a file or a pipe: each line goes out as it is judged, not when the buffer fills.
        fflush(nil)  // every C stream: `stdout` itself is not concurrency-safe to name
        text = line
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
