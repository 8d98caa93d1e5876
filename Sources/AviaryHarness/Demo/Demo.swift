import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation

/// What `aviary demo` is asked to do.
public struct DemoOptions: Sendable {
    /// Short intervals: Prometheus scrapes every second, analyses measure every 3 s.
    public var fast = false
    /// Redraw a live view; false prints timestamped lines.
    public var watch = true
    /// Leave the daemon, pods and Prometheus running at the end.
    public var keep = false
    /// examples/demo.
    public var manifestsDirectory: String
    /// The `aviary` binary, which runs `aviary serve`; `aviary-sample-app` is looked up beside it.
    public var aviaryExecutable: String
    /// The steady load on the all-traffic Service.
    public var requestsPerSecond = 50
    /// Colour the statuses of the live view (a terminal that wants colours).
    public var colour = false
    /// The terminal's size, read at every redraw so that the live view fits the screen
    /// (nil: 160 columns, 50 lines).
    public var screenSize: @Sendable () -> (columns: Int, rows: Int)? = { nil }

    /// Options with the defaults of the command line.
    public init(manifestsDirectory: String, aviaryExecutable: String) {
        self.manifestsDirectory = manifestsDirectory
        self.aviaryExecutable = aviaryExecutable
    }
}

/// One release of the demo, as the summary reports it.
public struct DemoReleaseSummary: Codable, Sendable, Equatable {
    /// The image released.
    public var image: String
    /// `Promoted`, `Aborted` (an analysis failed), `Degraded` (aborted otherwise) or `TimedOut`.
    public var outcome: String
    /// From setting the image to the outcome.
    public var seconds: Double
    /// Requests the clients sent meanwhile.
    public var requests: Int
    /// Requests that failed meanwhile.
    public var clientErrors: Int
    /// The rollout's message at the outcome.
    public var message: String
}

/// The demo's result: `--summary-json` writes it.
public struct DemoSummary: Codable, Sendable, Equatable {
    /// Release 1 (good) and release 2 (bad), as far as the demo got.
    public var releases: [DemoReleaseSummary]

    /// Release 1 promoted and release 2 aborted by its analysis: the story held.
    public var succeeded: Bool {
        releases.count == 2 && releases[0].outcome == "Promoted" && releases[1].outcome == "Aborted"
    }

    /// The table printed at the end.
    public var table: String {
        var lines = ["release  image                outcome   seconds  requests  client errors"]
        for (index, release) in releases.enumerated() {
            lines.append(
                "\(index + 1)".padding(toLength: 9, withPad: " ", startingAt: 0)
                    + release.image.padding(toLength: 21, withPad: " ", startingAt: 0)
                    + release.outcome.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%7.1f", release.seconds) + String(format: "%10d", release.requests)
                    + String(format: "%15d", release.clientErrors))
        }
        return lines.joined(separator: "\n")
    }
}

/// `aviary demo`: a daemon and Prometheus on free ports, the sample app under steady load, one
/// good release that is promoted and one bad release that its analysis aborts.
public enum Demo {
    /// The rollout in examples/demo.
    static let rollout = "sample-app"
    /// Its container.
    static let container = "sample-app"
    /// The two releases: a good one, then one whose tag makes the sample app fail 20% of requests.
    static let releases = ["sample-app:v2", "sample-app:bad-v3"]

    /// `line` cut to `width` visible characters. ANSI escape sequences (colours) take no room
    /// and are all kept, so a colour cut short is still reset.
    static func clip(_ line: String, to width: Int) -> String {
        var clipped = ""
        var visible = 0
        var inEscape = false
        for character in line {
            if inEscape {
                clipped.append(character)
                // A CSI sequence (`ESC [ 1 ; 32 m`) ends with its first letter after the `[`.
                inEscape = !(character.isLetter && character != "[")
            } else if character == "\u{1B}" {
                clipped.append(character)
                inEscape = true
            } else if visible < width {
                clipped.append(character)
                visible += 1
            }
        }
        return clipped
    }

    /// Runs the demo, writing what happens to `write`; stops everything it started before it
    /// returns or throws (also when its task is cancelled), unless `keep` and it got to the end.
    public static func run(
        _ options: DemoOptions, write: @escaping @Sendable (String) -> Void
    ) async throws
        -> DemoSummary
    {
        let session = DemoSession(options: options, write: write)
        do {
            let summary = try await session.run()
            if options.keep {
                session.explain()
            } else {
                session.stopAll()
            }
            return summary
        } catch {
            session.stopAll()
            throw error
        }
    }
}

/// The state of one demo run; lives in the task that runs it.
final class DemoSession {
    let options: DemoOptions
    let write: @Sendable (String) -> Void
    let directory: String
    var daemon: DaemonProcess?
    var prometheus: ManagedProcess?
    var client = APIClient(server: "http://127.0.0.1:1", token: nil, environment: [:])
    var prometheusAddress = ""
    var ports = DemoManifests.Ports(root: 0, stable: 0, canary: 0)
    let counter = TrafficCounter()
    var trafficTask: Task<Void, Never>?
    let timeFormatter: DateFormatter
    /// Lines shown under the live view.
    var recent: [String] = []
    var printedMeasurements: Set<String> = []
    var printedRuns: Set<String> = []
    var lastState = ""
    var lastTrafficLine = Date.distantPast
    var lastRollout: Rollout?
    /// The rollout as `aviary get rollout` draws it, kept while the daemon does not answer.
    var lastRolloutView = ""

    init(options: DemoOptions, write: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.write = write
        directory = NSTemporaryDirectory() + "aviary-demo-" + UUID().uuidString.prefix(8)
        timeFormatter = DateFormatter()
        timeFormatter.dateFormat = "HH:mm:ss.S"
    }

    func run() async throws -> DemoSummary {
        guard let prometheusBinary = HarnessEnvironment.executableOnPath("prometheus") else {
            throw DemoError(
                "prometheus is not on PATH; the demo needs a real Prometheus. Install it with "
                    + "`apt-get install -y prometheus` (as root) and run the demo again")
        }
        let manifests = try DemoManifests.read(from: options.manifestsDirectory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await startDaemon()
        try await startPrometheus(binary: prometheusBinary)
        ports = DemoManifests.Ports(
            root: try HarnessEnvironment.freePort(), stable: try HarnessEnvironment.freePort(),
            canary: try HarnessEnvironment.freePort())
        let adapted = try manifests.adapted(ports: ports, prometheus: prometheusAddress, fast: options.fast)
        for yaml in [adapted.template, adapted.rollout] {
            do {
                _ = try await client.apply(Data(yaml.utf8))
            } catch {
                throw DemoError("applying examples/demo failed: \(error.description)")
            }
        }
        log(
            "applied examples/demo: rollout \(Demo.rollout) (4 pods of sample-app:v1), 3 services, template success-rate"
        )
        // Settled first, then shown: the state line printed is at least as new as the check. The
        // rollout is Healthy by the daemon's view before the router has the ready pods: the load
        // starts once the all-traffic Service answers, so no request fails before the first release.
        let rootPort = ports.root
        let started = try await HarnessEnvironment.eventually(within: 90) {
            let settled = await self.isSettled(image: "sample-app:v1")
            try await self.observe()
            guard settled else { return false }
            return await DemoTraffic.answeringImage(port: rootPort) == "sample-app:v1"
        }
        guard started else { throw DemoError("the first version did not become Healthy within 90 s\n\(diagnostics())") }
        log("sample-app:v1 is Healthy; sending \(options.requestsPerSecond) requests/s to 127.0.0.1:\(ports.root)")
        let counter = self.counter
        let port = ports.root
        let rate = options.requestsPerSecond
        trafficTask = Task { await DemoTraffic.run(port: port, perSecond: rate, counter: counter) }
        defer { trafficTask?.cancel() }
        try await Task.sleep(for: .seconds(options.fast ? 3 : 10))

        var releases: [DemoReleaseSummary] = []
        for (index, image) in Demo.releases.enumerated() {
            let release = try await release(image, number: index + 1)
            releases.append(release)
            log(
                "release \(index + 1) \(image): \(release.outcome) after \(String(format: "%.1f", release.seconds)) s, "
                    + "\(release.requests) requests, \(release.clientErrors) client errors")
            if release.outcome != (index == 0 ? "Promoted" : "Aborted") { break }
        }
        trafficTask?.cancel()
        await trafficTask?.value
        let total = await counter.counts
        log("traffic in all: \(total.line)")
        if options.watch { write("\n") }
        return DemoSummary(releases: releases)
    }

    // MARK: Processes

    func startDaemon() async throws {
        let port = try HarnessEnvironment.freePort()
        let daemon = DaemonProcess(aviary: options.aviaryExecutable, stateDirectory: directory + "/state", port: port)
        self.daemon = daemon
        client = APIClient(server: daemon.base, token: nil, environment: [:])
        try await daemon.start(logPath: directory + "/serve.log")
        log("aviary serve (pid \(daemon.process?.pid ?? 0)) on \(client.server), state in \(directory)/state")
    }

    func startPrometheus(binary: String) async throws {
        let interval = options.fast ? "1s" : "5s"
        let started = try await ManagedProcess.prometheus(
            binary: binary, directory: directory, daemon: client.server, interval: interval)
        prometheus = started.process
        prometheusAddress = started.address
        log(
            "prometheus (pid \(prometheus!.pid)) on \(prometheusAddress), scraping the pods every \(interval) via \(client.server)/sd"
        )
    }

    /// Stops the daemon (which stops its pods and router), any pod it left, and Prometheus, and
    /// removes the demo's directory.
    func stopAll() {
        trafficTask?.cancel()
        let pods = podPIDs()
        daemon?.stop()
        for pid in pods where kill(pid, 0) == 0 { kill(-pid, SIGKILL) }
        prometheus?.stop()
        daemon = nil
        prometheus = nil
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The pods' PIDs as the state file lists them (read without the daemon, which may be gone).
    func podPIDs() -> [Int32] {
        lastPods.compactMap { $0.pid.map(Int32.init) }
    }

    /// With --keep: how to look around and how to stop it all.
    func explain() {
        let pids = [daemon?.process?.pid, prometheus?.pid].compactMap { $0 }.map(String.init).joined(separator: " ")
        write(
            """

            Everything is still running (--keep):
              export AVIARY_SERVER=\(client.server)
              aviary get rollout \(Demo.rollout)
              Dashboard: \(client.server)/rollouts/default/\(Demo.rollout)   (open it in a browser)
              curl $AVIARY_SERVER/api/v1/analysisruns   # the analyses and their measurements
              curl 127.0.0.1:\(ports.root)/            # all traffic; stable :\(ports.stable), canary :\(ports.canary)
              Prometheus: \(prometheusAddress)/graph
            Stop it with: kill \(pids)   (the daemon stops its pods); state and logs in \(directory)

            """)
    }

    // MARK: Releases

    func release(_ image: String, number: Int) async throws -> DemoReleaseSummary {
        let before = await counter.counts
        let previousStable = try await rollout().status?.stableRS
        let runsBefore = Set(try await analysisRuns().compactMap(\.metadata.name))
        let start = Date()
        do {
            try await client.setImage(rollout: Demo.rollout, container: Demo.container, image: image, namespace: nil)
        } catch {
            throw DemoError("setting the image \(image) failed: \(error.description)")
        }
        log("release \(number): set image \(Demo.container)=\(image)")
        var outcome = "TimedOut"
        var message = ""
        let deadline = Date().addingTimeInterval(options.fast ? 150 : 600)
        while Date() < deadline {
            try await observe()
            let status = try await rollout().status
            message = status?.message ?? ""
            if status?.isAborted == true {
                let runs = try await analysisRuns().filter { !runsBefore.contains($0.metadata.name ?? "") }
                outcome = runs.contains { $0.status?.phase == .failed } ? "Aborted" : "Degraded"
                break
            }
            let current = status?.currentPodHash
            if status?.phase == .healthy, current != nil, current != previousStable, status?.stableRS == current {
                outcome = "Promoted"
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let seconds = (Date().timeIntervalSince(start) * 10).rounded() / 10
        let counts = await counter.counts.since(before)
        let summary = DemoReleaseSummary(
            image: image, outcome: outcome, seconds: seconds, requests: counts.requests,
            clientErrors: counts.errorCount, message: message)
        log("release \(number) \(outcome)" + (message.isEmpty ? "" : ": \(message)"))
        log("release \(number) traffic: \(counts.line)")
        // Let the old pods go (scaleDownDelaySeconds / abortScaleDownDelaySeconds) so that the next
        // release, or the end, starts from four pods of the stable image.
        let stableImage = outcome == "Promoted" ? image : nil
        let settled = try await HarnessEnvironment.eventually(within: 60) {
            let settled = await self.isSettled(image: stableImage)
            try await self.observe()
            return settled
        }
        if outcome != "Promoted" && outcome != "TimedOut" {
            let after = await counter.counts
            try await Task.sleep(for: .seconds(2))
            let tail = await counter.counts.since(after)
            log("after the abort: \(tail.line)" + (settled ? "; the canary is scaled down" : ""))
        }
        return summary
    }

    /// Four ready pods, all of `image` (nil: of the stable image, whatever it is), no canary weight.
    func isSettled(image: String?) async -> Bool {
        guard let status = try? await rollout().status, let pods = try? await client.pods() else { return false }
        let weight = status.canary?.weights?.canary.weight ?? 0
        let images = Set(pods.map(\.image))
        let sameImage = image.map { images == [$0] } ?? (images.count == 1)
        return pods.count == 4 && sameImage && pods.allSatisfy(\.ready) && weight == 0
            && (image == nil || status.phase == .healthy)
    }

    // MARK: Observing

    var lastPods: [PodView] = []

    /// Reads the rollout, its pods and analysis runs, and shows what changed.
    func observe() async throws {
        if let rollout = try? await rollout() { lastRollout = rollout }
        if let pods = try? await client.pods() { lastPods = pods }
        let status = lastRollout?.status
        let steps = lastRollout?.spec.strategy.canary?.stepsOrEmpty ?? []
        let weight = status?.canary?.weights?.canary.weight ?? 0
        var byImage: [String: (all: Int, ready: Int)] = [:]
        for pod in lastPods {
            byImage[pod.image, default: (0, 0)].all += 1
            if pod.ready { byImage[pod.image, default: (0, 0)].ready += 1 }
        }
        let podText = byImage.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.ready)/\($0.value.all)" }
            .joined(separator: ", ")
        let state =
            "rollout \(status?.phase?.rawValue ?? "Unknown")  step \(status?.currentStepIndex ?? 0)/\(steps.count)"
            + "  canary weight \(weight)%  pods ready: \(podText)"
            + (status?.message.flatMap { $0.isEmpty ? nil : "  (\($0))" } ?? "")
        // Before the controller's first reconcile the rollout has no status to tell.
        if status?.phase != nil, state != lastState {
            lastState = state
            log(state)
        }
        for run in (try? await analysisRuns()) ?? [] {
            guard let runName = run.metadata.name else { continue }
            for result in run.status?.metricResults ?? [] {
                for (index, measurement) in (result.measurements ?? []).enumerated() where measurement.finishedAt != nil
                {
                    let key = "\(runName)/\(result.name)/\(measurement.startedAt ?? "\(index)")"
                    guard printedMeasurements.insert(key).inserted else { continue }
                    let note = measurement.message.map { "  \($0)" } ?? ""
                    log(
                        "analysis \(runName)  \(result.name)  \(measurement.value ?? "-")  \(measurement.phase.rawValue)\(note)"
                    )
                }
            }
            if let phase = run.status?.phase, [.successful, .failed, .error, .inconclusive].contains(phase),
                printedRuns.insert(runName).inserted
            {
                log("analysis \(runName): \(phase.rawValue)" + (run.status?.message.map { " - \($0)" } ?? ""))
            }
        }
        let counts = await counter.counts
        if counts.requests > 0, Date().timeIntervalSince(lastTrafficLine) >= 5 {
            lastTrafficLine = Date()
            if !options.watch { log("traffic: \(counts.line)") }
        }
        if options.watch { await redraw(traffic: counts) }
    }

    /// The live view: the rollout as `aviary get rollout --watch` draws it (header and tree), the
    /// traffic, and as many of the latest lines (a line per measurement) as the screen holds.
    /// Drawn in place like `get rollout --watch`: cursor home, each line followed by
    /// clear-to-end-of-line, then clear-to-end-of-screen, so nothing flickers; lines are cut to
    /// the screen's width and the frame is one line short of its height, so the terminal never
    /// wraps or scrolls (which would leave copies of the frame above it).
    func redraw(traffic: TrafficCounts) async {
        if let snapshot = try? await client.snapshot(of: Demo.rollout, namespace: "default") {
            lastRolloutView = RolloutRenderer.render(snapshot, now: Date(), colour: options.colour)
        }
        let top =
            ["aviary demo" + (options.fast ? " --fast" : "") + "    (Ctrl-C stops it and everything it started)", ""]
            + lastRolloutView.components(separatedBy: "\n") + ["", "Traffic:  \(traffic.line)", ""]
        let screen = options.screenSize() ?? (columns: 160, rows: 50)
        let room = max(1, screen.rows - 1)
        let events = Array(recent.suffix(max(3, room - top.count)))
        let lines = (Array(top.prefix(max(0, room - events.count))) + events).map {
            Demo.clip($0, to: max(1, screen.columns - 1))
        }
        write("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J")
    }

    func log(_ text: String) {
        let line = timeFormatter.string(from: Date()) + "  " + text
        if options.watch {
            recent.append(line)
            if recent.count > 200 { recent.removeFirst(100) }
        } else {
            write(line + "\n")
        }
    }

    /// The demo's rollout, or a `DemoError` with the daemon's log when the daemon does not answer.
    func rollout() async throws -> Rollout {
        do {
            return try await client.rollout(Demo.rollout, namespace: "default")
        } catch {
            throw DemoError("the daemon stopped answering (\(error.description))\n\(diagnostics())")
        }
    }

    /// Every AnalysisRun, or a `DemoError` with the daemon's log when the daemon does not answer.
    func analysisRuns() async throws -> [AnalysisRun] {
        do {
            return try await client.analysisRuns(namespace: nil)
        } catch {
            throw DemoError("the daemon stopped answering (\(error.description))\n\(diagnostics())")
        }
    }

    func diagnostics() -> String {
        "aviary serve's log (\(directory)/serve.log):\n\(daemon?.process?.logTail() ?? "")"
    }
}
