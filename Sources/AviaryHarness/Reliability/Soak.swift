import Foundation

/// What `scripts/soak` is asked to do.
public struct SoakOptions: Sendable {
    /// How long to release in a loop, the warm-up minute included.
    public var minutes = 30.0
    /// The `aviary` binary; `aviary-sample-app` is looked up beside it.
    public var aviaryExecutable: String
    /// Requests per second to the all-traffic Service.
    public var requestsPerSecond = 200
    /// Every `badEvery`-th release is a `bad-` image.
    public var badEvery = 5
    /// Where the releases run: the local platform (one rollout of the sample app under client
    /// traffic) or the simulated one (`rollouts` rollouts released round-robin, no processes).
    public var platform = SoakPlatform.local
    /// How many rollouts the simulated platform's run releases round-robin.
    public var rollouts = 1000
    /// Options with the defaults of the command line.
    public init(aviaryExecutable: String) {
        self.aviaryExecutable = aviaryExecutable
    }
}

/// Where a soak's releases run.
public enum SoakPlatform: String, Sendable, CaseIterable {
    /// `aviary serve` with pods of the sample app, the router and Prometheus.
    case local
    /// `aviary serve --platform simulated`: pods are ready at once, nothing runs but the analyses' jobs.
    case simulated
}

/// One sample of a process's resources.
public struct ResourceSample: Sendable, Equatable {
    /// VmRSS in kB.
    public var residentKilobytes: Int
    /// Open file descriptors.
    public var descriptors: Int

    /// Creates a sample.
    public init(residentKilobytes: Int, descriptors: Int) {
        self.residentKilobytes = residentKilobytes
        self.descriptors = descriptors
    }
}

/// What a soak run measured.
public struct SoakReport: Sendable, Equatable {
    /// Releases promoted and aborted, and those that did not settle in time.
    public var promoted = 0
    /// Bad releases aborted.
    public var aborted = 0
    /// Releases that did not reach their outcome within 300 s.
    public var unsettled = 0
    /// The idle samples of each process (`daemon`, `router`): at the start, every minute and at the end.
    public var samples: [String: [SoakSample]] = [:]
    /// What the clients saw.
    public var clients = ClientCounts()
    /// The processes sampled and judged (the simulated platform has no router).
    public var processes = ["daemon", "router"]

    /// An empty report.
    public init() {}

    /// Releases finished so far, settled or not.
    public var releases: Int { promoted + aborted + unsettled }

    /// Adds an idle sample of each process, taken `minute` minutes into the run, to its series.
    mutating func add(_ sample: [String: ResourceSample], minute: Double) {
        for (process, resources) in sample {
            samples[process, default: []].append(
                SoakSample(
                    minute: minute, releases: releases, residentKilobytes: resources.residentKilobytes,
                    descriptors: resources.descriptors))
        }
    }

    /// The trends over the second half of the run, and whether they, the releases and the
    /// clients pass.
    public var judgement: SoakJudgement {
        // A process never sampled is judged on no samples, which fails.
        var series = samples
        for process in processes where series[process] == nil { series[process] = [] }
        return SoakJudgement.judge(samples: series, unsettled: unsettled, clientErrors: clients.clientErrors)
    }

    /// No trend beyond its tolerance, every release settled, no client error outside bad canaries.
    public var succeeded: Bool { judgement.passed }

    /// The lines printed at the end; the last one states the verdict and the slopes.
    public var summary: String {
        let judgement = judgement
        var lines = ["trends over the second half of the run (least squares):"]
        lines += judgement.trendLines.map { "  " + $0 }
        lines.append(
            "releases: promoted \(promoted), aborted \(aborted), unsettled \(unsettled)"
                + (processes.contains("router")
                    ? "; client requests \(clients.requests), errors from bad canaries \(clients.badCanaryErrors), "
                        + "other client errors \(clients.clientErrors)" : ""))
        let slopes = judgement.trends.sorted { $0.key < $1.key }.map { process, trend in
            "\(process) RSS " + String(format: "%+.0f kB/h", trend.residentKilobytes.perHour) + ", fds "
                + String(format: "%+.1f/h", trend.descriptors.perHour)
        }.joined(separator: "; ")
        let rss = TrendTolerance.residentKilobytes
        let fds = TrendTolerance.descriptors
        lines.append(
            judgement.passed
                ? "soak passed: \(slopes) (tolerance: RSS \(Int(rss.perHour)) kB/h and \(Int(rss.rise)) kB, "
                    + "fds \(Int(fds.perHour))/h and \(Int(fds.rise)) over the second half)"
                : "soak FAILED: " + judgement.failures.joined(separator: "; ") + (slopes.isEmpty ? "" : " (\(slopes))"))
        return lines.joined(separator: "\n")
    }
}

/// `scripts/soak`: releases in a loop under steady load, watching the daemon's and the router's
/// memory and descriptors.
public enum Soak {
    /// Runs the soak, writing progress lines to `write`; stops everything it started before it
    /// returns or throws.
    public static func run(
        _ options: SoakOptions, write: @escaping @Sendable (String) -> Void
    ) async throws
        -> SoakReport
    {
        let cluster = ReliabilityCluster(name: "soak", aviary: options.aviaryExecutable, write: write)
        var traffic: Task<Void, Never>?
        do {
            let report =
                switch options.platform {
                case .local: try await run(options, cluster: cluster, traffic: &traffic)
                case .simulated: try await runSimulated(options, cluster: cluster)
                }
            cluster.stopAll()
            return report
        } catch {
            traffic?.cancel()
            cluster.stopAll()
            throw error
        }
    }

    static func run(
        _ options: SoakOptions, cluster: ReliabilityCluster, traffic: inout Task<Void, Never>?
    )
        async throws -> SoakReport
    {
        var report = SoakReport()
        try await cluster.startDaemon()
        try await cluster.startPrometheus()
        try await cluster.applyApps(prefix: "soak", count: 1, image: "sample-app:v1")
        let app = cluster.apps[0]
        guard
            try await HarnessEnvironment.eventually(
                within: 120, { await cluster.isSettled(app, image: "sample-app:v1", aborted: false) })
        else { throw DemoError("soak-1 did not become Healthy within 120 s:\n\(await cluster.describe(app))") }
        let ledger = ClientLedger()
        let window = RouterRestartWindow()
        let rate = options.requestsPerSecond
        func startTraffic() -> Task<Void, Never> {
            Task { await ClientTraffic.run(ports: [app.rootPort], perSecond: rate, ledger: ledger, window: window) }
        }
        traffic = startTraffic()
        cluster.log(
            "soak-1 Healthy; \(rate) requests/s to 127.0.0.1:\(app.rootPort); releasing for \(options.minutes) minutes")

        let start = Date()
        let end = start.addingTimeInterval(options.minutes * 60)
        var stableImage = "sample-app:v1"
        var version = 1
        var nextMinute = start.addingTimeInterval(60)
        /// Idle samples: the traffic paused and drained, so that connections in flight do not count.
        func idleSample() async throws -> [String: ResourceSample] {
            traffic?.cancel()
            await traffic?.value
            let sample = try await steadySample(cluster)
            traffic = startTraffic()
            return sample
        }
        /// Takes an idle sample of each process and adds it to the report's series.
        func record(_ label: String) async throws {
            let sample = try await idleSample()
            let requests = await ledger.counts.requests
            report.add(sample, minute: Date().timeIntervalSince(start) / 60)
            cluster.log(sampleLine(label, sample) + "; releases \(report.releases), requests \(requests)")
        }
        try await record("start")
        while Date() < end {
            version += 1
            let bad = version % options.badEvery == 0
            let image = bad ? "sample-app:bad-v\(version)" : "sample-app:v\(version)"
            guard await cluster.setImage(app, image) else { throw DemoError("set image \(image) was refused") }
            let target = bad ? stableImage : image
            let started = Date()
            let settled = try await HarnessEnvironment.eventually(within: 300) {
                await cluster.isSettled(app, image: target, aborted: bad)
            }
            cluster.log(
                "release \(version - 1) \(image): "
                    + (settled ? (bad ? "aborted" : "promoted") : "did not settle") + " after "
                    + String(format: "%.1f s", Date().timeIntervalSince(started)))
            if !settled {
                report.unsettled += 1
                cluster.log("UNSETTLED \(image): \(await cluster.describe(app))")
            } else if bad {
                report.aborted += 1
            } else {
                report.promoted += 1
                stableImage = image
            }
            if Date() >= nextMinute {
                // A release that took longer than a minute skips the minutes it spanned.
                while nextMinute <= Date() { nextMinute = nextMinute.addingTimeInterval(60) }
                try await record("minute \(Int(Date().timeIntervalSince(start) / 60))")
            }
        }
        try await record("end")
        traffic?.cancel()
        await traffic?.value
        report.clients = await ledger.counts
        for sample in report.clients.errorSamples { cluster.log("client error: \(sample)") }
        return report
    }

    /// A sample taken once the processes' descriptor counts hold still for 3 s (at most 60 s), so
    /// that connections they are still closing (a loaded machine lags) do not count.
    static func steadySample(_ cluster: ReliabilityCluster) async throws -> [String: ResourceSample] {
        var sample = sampleProcesses(cluster)
        var still = 0
        let deadline = Date().addingTimeInterval(60)
        while still < 3 && Date() < deadline {
            try await Task.sleep(for: .seconds(1))
            let next = sampleProcesses(cluster)
            still = next.mapValues(\.descriptors) == sample.mapValues(\.descriptors) ? still + 1 : 0
            sample = next
        }
        return sample
    }

    static func sampleProcesses(_ cluster: ReliabilityCluster) -> [String: ResourceSample] {
        var samples: [String: ResourceSample] = [:]
        for (name, pid) in [("daemon", cluster.daemon?.process?.pid), ("router", cluster.routerPID())] {
            guard let pid, let rss = ProcessTable.residentKilobytes(pid), let fds = ProcessTable.openDescriptors(pid)
            else { continue }
            samples[name] = ResourceSample(residentKilobytes: rss, descriptors: fds)
        }
        return samples
    }

    static func sampleLine(_ label: String, _ samples: [String: ResourceSample]) -> String {
        label + ": "
            + samples.sorted { $0.key < $1.key }.map {
                "\($0.key) RSS \($0.value.residentKilobytes) kB, \($0.value.descriptors) fds"
            }.joined(separator: "; ")
    }
}
