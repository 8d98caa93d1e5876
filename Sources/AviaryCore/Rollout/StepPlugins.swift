import AviaryJSON
import AviaryModel
import Foundation

/// Argo's step plugins as its controller runs them before the rest of a reconcile
/// (`stepPluginContext.reconcile`, and the bookkeeping of `stepPlugin.Run`, `Terminate` and
/// `Abort`): which calls to make for the rollout as stored, and how each answer changes
/// `status.canary.stepPluginStatuses`. The controller makes the calls and hands the reconciler
/// the rollout with the new statuses; the reconciler reads them to finish a plugin step, or to abort
/// the update when its Run failed.
public enum StepPlugins {
    /// One call to a step plugin: the operation, the step, and the context the plugin gets
    /// (`RpcStepContext`: its name, the step's `config`, the status its Run kept).
    public struct Call: Sendable, Equatable {
        public var operation: StepPluginOperation
        public var index: Int
        public var name: String
        public var config: JSONValue?
        public var status: JSONValue?

        public init(
            _ operation: StepPluginOperation, index: Int, name: String, config: JSONValue? = nil,
            status: JSONValue? = nil
        ) {
            self.operation = operation
            self.index = index
            self.name = name
            self.config = config
            self.status = status
        }
    }

    /// What a call came back with.
    public enum Outcome: Sendable, Equatable {
        /// The plugin's `RpcStepResult`: its phase (possibly empty), message, `RequeueAfter` in seconds
        /// and the status it keeps.
        case result(phase: String, message: String, requeueAfter: Double, status: JSONValue?)
        /// The plugin's `RpcError`, or a call that failed on the way.
        case error(String)
        /// The plugin is `disabled: true` in `argo-rollouts-config`: its step is skipped.
        case disabled
        /// The plugin could not be started or asked (not listed, no binary): nothing is recorded
        /// and the reconcile is retried (Argo's `handleError`).
        case unavailable(String)
    }

    /// An event about a call, in Argo's words.
    public struct Event: Sendable, Equatable {
        public var warning: Bool
        public var reason: String
        public var message: String
    }

    /// How long a Run that answered an error waits before the next call (Argo's 30 s).
    static let errorBackoff = 30.0
    /// How long a Running Run waits when the plugin asks for 10 s or less (Argo's 30 s).
    static let defaultRequeue = 30.0
    /// The shortest wait a plugin may ask for.
    static let minimumRequeue = 10.0
    /// How soon a reconcile whose plugin could not be asked is retried (Argo's 30 s).
    public static let retrySeconds = 30.0

    /// The statuses after a retry's cleaning (a retried or new update at step 0 starts without the
    /// last one's), and the calls to make now, in order: on abort, `Abort` for each step whose Run
    /// ran, last first; on a full promotion, `Terminate` for the step still Running; otherwise `Run`
    /// for the current plugin step while the rollout is Progressing, unless it finished or its backoff
    /// has not ended.
    public static func plan(_ rollout: Rollout, now: Date) -> (statuses: [StepPluginStatus], calls: [Call]) {
        guard let canary = rollout.spec.strategy.canary else { return ([], []) }
        let steps = canary.stepsOrEmpty
        let status = rollout.status ?? RolloutStatus()
        var statuses = status.canary?.stepPluginStatuses ?? []
        func plugin(at index: Int) -> PluginStep? { index >= 0 && index < steps.count ? steps[index].plugin : nil }
        func find(_ index: Int, _ name: String, _ operation: StepPluginOperation) -> StepPluginStatus? {
            statuses.first { $0.index == index && $0.name == name && $0.operation == operation }
        }
        if status.abort == true {
            var calls: [Call] = []
            for run in statuses.reversed() where run.operation == .run {
                guard let step = plugin(at: run.index), find(run.index, step.name, .abort) == nil,
                    let current = find(run.index, step.name, .run), current.disabled != true,
                    current.phase == .running || current.phase == .successful
                else { continue }
                calls.append(
                    Call(.abort, index: run.index, name: step.name, config: step.config, status: current.status))
            }
            return (statuses, calls)
        }
        if status.promoteFull == true || (status.stableRS != nil && status.stableRS == status.currentPodHash) {
            for entry in statuses.reversed() {
                if entry.operation == .terminate && entry.phase == .successful { break }
                guard entry.operation == .run, entry.phase == .running else { continue }
                guard let step = plugin(at: entry.index), find(entry.index, step.name, .terminate) == nil,
                    let run = find(entry.index, step.name, .run), run.disabled != true, run.phase == .running
                else { break }
                return (
                    statuses,
                    [Call(.terminate, index: entry.index, name: step.name, config: step.config, status: run.status)]
                )
            }
            return (statuses, [])
        }
        let index = status.currentStepIndex ?? 0
        // A retried (or new) update back at step 0 starts without the last one's statuses, unless
        // step 0 is a plugin step still under way.
        if !statuses.isEmpty, index == 0, index < steps.count {
            let completed = plugin(at: 0) == nil || isCompleted(index: 0, in: statuses)
            if completed { statuses = [] }
        }
        guard let step = plugin(at: index), status.phase == .progressing else { return (statuses, []) }
        var run = find(index, step.name, .run)
        if run?.disabled == true { run = nil }
        if let run {
            if run.phase == .successful || run.phase == .failed { return (statuses, []) }
            if (run.executions ?? 0) > 0, let updated = run.updatedAt.flatMap(RFC3339.parse),
                updated.addingTimeInterval(seconds(run.backoff)) > now
            {
                return (statuses, [])
            }
        }
        return (statuses, [Call(.run, index: index, name: step.name, config: step.config, status: run?.status)])
    }

    /// Argo's `isStepPluginCompleted`: the Run is Successful or Failed, the plugin is disabled, or a
    /// Running Run was terminated or aborted.
    static func isCompleted(index: Int, in statuses: [StepPluginStatus]) -> Bool {
        func find(_ operation: StepPluginOperation) -> StepPluginStatus? {
            statuses.first { $0.index == index && $0.operation == operation }
        }
        guard let run = find(.run) else { return false }
        if run.disabled == true { return true }
        let stopped = find(.terminate) != nil || find(.abort) != nil
        return run.phase == .successful || run.phase == .failed || (run.phase == .running && stopped)
    }

    /// Records `outcome` of `call` in `statuses` as Argo's `stepPlugin` does, and returns the event
    /// of a phase change (Argo's `StepPluginTransition`; none for a successful Run, whose step
    /// completion is its own event), or `retry` with the reason when nothing could be recorded.
    public static func record(
        _ outcome: Outcome, of call: Call, in statuses: inout [StepPluginStatus], now: Date
    ) -> (event: Event?, retry: String?) {
        let time = RFC3339.format(now)
        var entry: StepPluginStatus
        switch (call.operation, outcome) {
        case (_, .unavailable(let reason)):
            return (nil, reason)
        case (.run, .disabled):
            entry = StepPluginStatus(index: call.index, name: call.name, operation: .run)
            entry.disabled = true
        case (_, .disabled):
            return (nil, nil)
        case (.run, .error(let message)):
            entry = runStatus(call, statuses, startedAt: time)
            entry.updatedAt = time
            entry.executions = (entry.executions ?? 0) + 1
            entry.phase = .error
            entry.message = message
            entry.backoff = GoDurationText.format(errorBackoff)
        case (.run, .result(let phase, let message, let requeueAfter, let pluginStatus)):
            entry = runStatus(call, statuses, startedAt: time)
            if !phase.isEmpty {
                guard let valid = StepPluginPhase(rawValue: phase) else {
                    return (nil, "could not validate rpc phase: phase '\(phase)' is not valid")
                }
                entry.phase = valid
            }
            entry.backoff = nil
            entry.updatedAt = time
            entry.executions = (entry.executions ?? 0) + 1
            entry.message = message.isEmpty ? nil : message
            if entry.phase == .successful || entry.phase == .failed { entry.finishedAt = time }
            if entry.phase != .error { entry.status = pluginStatus }
            if entry.phase == .running {
                entry.backoff = GoDurationText.format(requeueAfter > minimumRequeue ? requeueAfter : defaultRequeue)
            }
        case (_, .error(let message)):
            entry = StepPluginStatus(index: call.index, name: call.name, operation: call.operation, phase: .error)
            entry.startedAt = time
            entry.message = message
            entry.finishedAt = time
        case (_, .result(let phase, let message, _, _)):
            entry = StepPluginStatus(index: call.index, name: call.name, operation: call.operation, phase: .successful)
            entry.startedAt = time
            if !phase.isEmpty {
                guard let valid = StepPluginPhase(rawValue: phase) else {
                    return (nil, "could not validate rpc phase: phase '\(phase)' is not valid")
                }
                // Terminate and Abort cannot run on: a plugin that says Running failed them.
                entry.phase = valid == .running ? .failed : valid
            }
            entry.message = message.isEmpty ? nil : message
            entry.finishedAt = time
        }
        var changed = true
        if let position = statuses.firstIndex(where: { $0.index == entry.index && $0.operation == entry.operation }) {
            changed = statuses[position].phase != entry.phase
            statuses[position] = entry
        } else {
            statuses.append(entry)
        }
        guard changed, entry.disabled != true, !(entry.operation == .run && entry.phase == .successful),
            let phase = entry.phase
        else { return (nil, nil) }
        let step = "\(entry.name) (step \(entry.index + 1))"
        let message =
            switch entry.operation {
            case .run: "Step plugin \(step) transitioned to \(phase.rawValue)"
            case .abort: "Step plugin \(step) aborted (\(phase.rawValue))"
            case .terminate: "Step plugin \(step) terminated (\(phase.rawValue))"
            }
        let warning = phase == .error || phase == .failed
        return (Event(warning: warning, reason: "StepPluginTransition", message: message), nil)
    }

    /// The Run's status to update: the one there is for the step, or a new Running one.
    private static func runStatus(_ call: Call, _ statuses: [StepPluginStatus], startedAt: String) -> StepPluginStatus {
        if let run = statuses.first(where: {
            $0.index == call.index && $0.name == call.name && $0.operation == .run && $0.disabled != true
        }) {
            return run
        }
        var run = StepPluginStatus(index: call.index, name: call.name, operation: .run, phase: .running)
        run.startedAt = startedAt
        return run
    }

    private static func seconds(_ duration: String?) -> Double {
        duration.flatMap { try? ArgoDuration($0).seconds }.flatMap { $0.isFinite ? $0 : nil } ?? 0
    }
}

/// Durations as Go's `time.Duration.String` writes them: `30s`, `1m0s`, `1h30m0s`, `1.5s`.
enum GoDurationText {
    static func format(_ seconds: Double) -> String {
        guard seconds > 0 else { return "0s" }
        var remaining = seconds
        var text = ""
        if remaining >= 3600 {
            text += "\(Int(remaining / 3600))h"
            remaining = remaining.truncatingRemainder(dividingBy: 3600)
        }
        if !text.isEmpty || remaining >= 60 {
            text += "\(Int(remaining / 60))m"
            remaining = remaining.truncatingRemainder(dividingBy: 60)
        }
        if remaining == remaining.rounded() {
            text += "\(Int(remaining))s"
        } else {
            var fraction = String(format: "%.9f", remaining)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += fraction + "s"
        }
        return text
    }
}

/// Makes step plugin calls (the daemon's: Argo's go-plugin binaries from `stepPlugins` of
/// `argo-rollouts-config`).
public protocol StepPluginRunner: Sendable {
    /// Calls the plugin `call.name` with the rollout as stored; never throws: what went wrong is
    /// the outcome.
    func perform(_ call: StepPlugins.Call, rollout: Rollout) async -> StepPlugins.Outcome
}
