import AviaryCore
import AviaryJSON
import AviaryModel
import Foundation

/// One past release to replay: when its analysis started, what its arguments were, and whether
/// it was in fact bad.
public struct BacktestRelease: Sendable, Equatable {
    public var name: String
    public var start: Date
    /// Where the replay stops if the run has not ended (default: an hour after `start`).
    public var end: Date
    public var bad: Bool
    public var args: [Argument]
}

/// What the template would have decided for one release.
public struct BacktestOutcome: Sendable, Equatable, Codable {
    /// One measurement as it would have been taken.
    public struct Point: Sendable, Equatable, Codable {
        public var metric: String
        /// Seconds after the release's start.
        public var at: Double
        public var value: String?
        public var phase: String
    }

    public var name: String
    public var bad: Bool
    /// The run's phase at the end of the replay.
    public var phase: String
    /// Seconds from the start to the run's end; nil when it had not ended by `end`.
    public var decidedAfter: Double?
    public var message: String?
    /// Prometheus answered nothing for any measurement: the window is not (or no longer) held.
    public var noData: Bool
    public var points: [Point]

    /// Whether the template judged the release as it was: a bad one Failed (or Error,
    /// Inconclusive), a good one Successful.
    public var aborted: Bool { phase != AnalysisPhase.successful.rawValue }
}

/// The rates over a set of releases.
public struct BacktestSummary: Sendable, Equatable, Codable {
    public var releases: Int
    public var bad: Int
    public var good: Int
    public var caught: Int
    public var falseAborts: Int
    public var noData: Int
    /// Missed bad releases over bad releases (with data); nil without any.
    public var missedBadRate: Double?
    /// Aborted good releases over good releases (with data); nil without any.
    public var falseAbortRate: Double?
    /// The median of the times to a decision, in seconds.
    public var medianDecision: Double?

    public init(_ outcomes: [BacktestOutcome]) {
        let judged = outcomes.filter { !$0.noData }
        releases = outcomes.count
        noData = outcomes.count - judged.count
        bad = judged.filter(\.bad).count
        good = judged.count - bad
        caught = judged.filter { $0.bad && $0.aborted }.count
        falseAborts = judged.filter { !$0.bad && $0.aborted }.count
        missedBadRate = bad == 0 ? nil : Double(bad - caught) / Double(bad)
        falseAbortRate = good == 0 ? nil : Double(falseAborts) / Double(good)
        let times = judged.compactMap(\.decidedAfter).sorted()
        medianDecision =
            times.isEmpty
            ? nil
            : times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }
}

/// `aviary analysis backtest`: a template replayed over Prometheus' history, measurement by
/// measurement at the times the daemon would have taken them, for each past release.
public enum Backtest {
    /// Reads a releases file:
    ///
    /// ```yaml
    /// releases:
    /// - name: v7
    ///   start: 2026-12-01T10:00:00Z
    ///   end: 2026-12-01T10:10:00Z     # optional, default an hour later
    ///   bad: true
    ///   args: {service-name: checkout, canary-hash: 6d4f8b9c7}
    /// ```
    public static func releases(text: String, file: String) throws(AdHocAnalysisError) -> [BacktestRelease] {
        let value: JSONValue
        do {
            value = try ManifestDecoder.value(ofYAML: text)
        } catch {
            throw AdHocAnalysisError(description: "\(file): \(error.diagnostics.first?.description ?? "not YAML")")
        }
        guard let list = value["releases"]?.arrayValue, !list.isEmpty else {
            throw AdHocAnalysisError(
                description: "\(file): releases: is required: list each past release with name, start and bad")
        }
        var releases: [BacktestRelease] = []
        for (index, item) in list.enumerated() {
            let path = "\(file): releases[\(index)]"
            guard let fields = item.objectValue else {
                throw AdHocAnalysisError(description: "\(path): must be a mapping with name, start and bad")
            }
            let name = fields["name"]?.stringValue ?? "release \(index + 1)"
            guard let startText = fields["start"]?.stringValue, let start = RFC3339.parse(startText) else {
                throw AdHocAnalysisError(
                    description: "\(path).start: is required: an RFC 3339 time such as 2026-12-01T10:00:00Z")
            }
            var end = start.addingTimeInterval(3600)
            if let endText = fields["end"]?.stringValue {
                guard let parsed = RFC3339.parse(endText), parsed > start else {
                    throw AdHocAnalysisError(
                        description: "\(path).end: \"\(endText)\" must be an RFC 3339 time after start")
                }
                end = parsed
            }
            guard case .bool(let bad)? = fields["bad"] else {
                throw AdHocAnalysisError(
                    description: "\(path).bad: is required: true if the release was in fact bad, false if good")
            }
            var args: [Argument] = []
            for (key, argValue) in (fields["args"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let text = argValue.stringValue ?? argValue.scalarText else {
                    throw AdHocAnalysisError(description: "\(path).args.\(key): must be a string")
                }
                args.append(Argument(name: key, value: text))
            }
            releases.append(BacktestRelease(name: name, start: start, end: end, bad: bad, args: args))
        }
        return releases
    }

    /// Replays `run` (made for the release) from its start: every measurement and early-stop look
    /// is taken by `providers` at its own time in the past, and recorded as the daemon would.
    public static func replay(
        _ run: AnalysisRun, release: BacktestRelease, providers base: MetricProviders
    ) async -> BacktestOutcome {
        var run = run
        var now = release.start
        var points: [BacktestOutcome.Point] = []
        var answered = false
        for _ in 0..<100_000 {
            if now >= release.end, run.spec.terminate != true {
                now = release.end
                run = AnalysisRunEngine.terminate(run)
            }
            let step = AnalysisRunEngine.reconcile(run, now: now)
            run = step.run
            if run.status?.phase?.isCompleted == true { break }
            for request in step.measurements {
                var providers = base
                let moment = now
                providers.now = { moment }
                providers.queryTime = moment
                let outcome = await providers.measure(request)
                if case .value(let value, _, _) = outcome, value != .array([]) { answered = true }
                if case .phase = outcome { answered = true }
                run = AnalysisRunEngine.record(outcome, for: request, in: run, now: now)
                guard request.earlyStop == nil,
                    let measurement = run.status?.metricResults?.first(where: { $0.name == request.metricName })?
                        .measurements?.last
                else { continue }
                points.append(
                    BacktestOutcome.Point(
                        metric: request.metricName, at: now.timeIntervalSince(release.start), value: measurement.value,
                        phase: measurement.phase.rawValue))
            }
            if run.status?.phase?.isCompleted == true { break }
            if step.measurements.isEmpty {
                // Nothing was due: go to the next time something is, or to the end.
                now = min(step.nextReconcileAt ?? release.end, release.end)
            }
        }
        let completed = run.status?.completedAt.flatMap(RFC3339.parse)
        return BacktestOutcome(
            name: release.name, bad: release.bad, phase: run.status?.phase?.rawValue ?? "Unknown",
            decidedAfter: completed.map { $0.timeIntervalSince(release.start) }.flatMap {
                run.spec.terminate == true ? nil : $0
            }, message: run.status?.message, noData: !answered, points: points)
    }
}

extension JSONValue {
    fileprivate var scalarText: String? {
        switch self {
        case .integer(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        default: nil
        }
    }
}
