import AviaryJSON
import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// Argo's step plugin bookkeeping, as tables: which calls a reconcile makes, and what each answer
/// leaves in `status.canary.stepPluginStatuses`.
struct StepPluginsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func ago(_ seconds: Double) -> String { RFC3339.format(now.addingTimeInterval(-seconds)) }

    /// Steps: setWeight 10, plugin `acme/a`, pause, plugin `acme/b`.
    static func rollout(
        step: Int?, phase: RolloutPhase? = .progressing, abort: Bool = false, promoteFull: Bool = false,
        promoted: Bool = false, statuses: [StepPluginStatus] = []
    ) -> Rollout {
        var spec = RolloutSpec(
            strategy: RolloutStrategy(
                canary: CanaryStrategy(steps: [
                    CanaryStep(setWeight: 10), CanaryStep(plugin: PluginStep(name: "acme/a", config: ["x": 1])),
                    CanaryStep(pause: RolloutPause()), CanaryStep(plugin: PluginStep(name: "acme/b")),
                ])))
        spec.replicas = 1
        var rollout = try! JSONValue(
            parsing: Data(
                #"{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web"},"spec":{"strategy":{}}}"#
                    .utf8)
        ).decoded(as: Rollout.self)
        rollout.spec = spec
        var status = RolloutStatus()
        status.currentStepIndex = step
        status.phase = phase
        status.abort = abort ? true : nil
        status.promoteFull = promoteFull ? true : nil
        status.currentPodHash = "new"
        status.stableRS = promoted ? "new" : "old"
        var canary = CanaryStatus()
        canary.stepPluginStatuses = statuses.isEmpty ? nil : statuses
        status.canary = canary
        rollout.status = status
        return rollout
    }

    static func status(
        _ index: Int, _ operation: StepPluginOperation, _ phase: StepPluginPhase?, name: String? = nil,
        executions: Int? = nil, updated: Double? = nil, backoff: String? = nil, pluginStatus: JSONValue? = nil
    ) -> StepPluginStatus {
        var status = StepPluginStatus(
            index: index, name: name ?? (index == 1 ? "acme/a" : "acme/b"), operation: operation, phase: phase)
        status.executions = executions
        status.updatedAt = updated.map(ago)
        status.backoff = backoff
        status.status = pluginStatus
        return status
    }

    struct PlanRow: CustomTestStringConvertible, Sendable {
        var name: String
        var rollout: Rollout
        var calls: [StepPlugins.Call]
        var statusesAfter: [StepPluginStatus]? = nil
        var testDescription: String { name }
    }

    static let runA = StepPlugins.Call(.run, index: 1, name: "acme/a", config: ["x": 1])

    static let planRows: [PlanRow] = [
        PlanRow(
            name: "the current plugin step of a Progressing rollout is Run", rollout: rollout(step: 1), calls: [runA]),
        PlanRow(name: "not while Paused", rollout: rollout(step: 1, phase: .paused), calls: []),
        PlanRow(name: "not on a step that is no plugin", rollout: rollout(step: 2), calls: []),
        PlanRow(
            name: "a Run that finished is not called again",
            rollout: rollout(step: 1, statuses: [status(1, .run, .successful, executions: 1)]), calls: []),
        PlanRow(
            name: "a Running Run waits for its backoff",
            rollout: rollout(
                step: 1, statuses: [status(1, .run, .running, executions: 1, updated: 10, backoff: "30s")]),
            calls: []),
        PlanRow(
            name: "after it the Run is called again with the status it kept",
            rollout: rollout(
                step: 1,
                statuses: [
                    status(1, .run, .running, executions: 1, updated: 40, backoff: "30s", pluginStatus: ["n": 1])
                ]),
            calls: [StepPlugins.Call(.run, index: 1, name: "acme/a", config: ["x": 1], status: ["n": 1])]),
        PlanRow(
            name: "abort: Abort for each Run that ran, last first; not for a Failed one",
            rollout: rollout(
                step: 0, abort: true,
                statuses: [
                    status(1, .run, .successful, pluginStatus: ["n": 1]), status(3, .run, .running),
                    status(4, .run, .failed, name: "acme/c"),
                ]),
            calls: [
                StepPlugins.Call(.abort, index: 3, name: "acme/b"),
                StepPlugins.Call(.abort, index: 1, name: "acme/a", config: ["x": 1], status: ["n": 1]),
            ]),
        PlanRow(
            name: "abort: a step aborted before is not aborted again",
            rollout: rollout(
                step: 0, abort: true,
                statuses: [status(1, .run, .successful), status(3, .run, .successful), status(1, .abort, .successful)]),
            calls: [StepPlugins.Call(.abort, index: 3, name: "acme/b")]),
        PlanRow(
            name: "a full promotion terminates the step still Running",
            rollout: rollout(
                step: 3, promoteFull: true, statuses: [status(1, .run, .successful), status(3, .run, .running)]),
            calls: [StepPlugins.Call(.terminate, index: 3, name: "acme/b")]),
        PlanRow(
            name: "once terminated, nothing more",
            rollout: rollout(
                step: 4, promoted: true,
                statuses: [status(3, .run, .running), status(3, .terminate, .successful)]),
            calls: []),
        PlanRow(
            name: "a retried update back at step 0 starts without the last update's statuses",
            rollout: rollout(step: 0, statuses: [status(1, .run, .successful), status(1, .abort, .successful)]),
            calls: [], statusesAfter: []),
        PlanRow(
            name: "a disabled plugin's Run is called (the runner answers disabled)",
            rollout: rollout(
                step: 1,
                statuses: [
                    {
                        var disabled = status(1, .run, nil)
                        disabled.disabled = true
                        return disabled
                    }()
                ]),
            calls: [runA]),
    ]

    @Test(arguments: planRows) func plan(_ row: PlanRow) {
        let (statuses, calls) = StepPlugins.plan(row.rollout, now: Self.now)
        #expect(calls == row.calls)
        #expect(statuses == (row.statusesAfter ?? row.rollout.status?.canary?.stepPluginStatuses ?? []))
    }

    struct RecordRow: CustomTestStringConvertible, Sendable {
        var name: String
        var call: StepPlugins.Call
        var before: [StepPluginStatus] = []
        var outcome: StepPlugins.Outcome
        var after: [StepPluginStatus]
        var event: StepPlugins.Event?
        var retry: String? = nil
        var testDescription: String { name }
    }

    static func recorded(
        _ index: Int, _ operation: StepPluginOperation, _ phase: StepPluginPhase?, message: String? = nil,
        executions: Int? = nil, started: Bool = true, updated: Bool = false, finished: Bool = false,
        backoff: String? = nil, pluginStatus: JSONValue? = nil, name: String = "acme/a"
    ) -> StepPluginStatus {
        var status = StepPluginStatus(index: index, name: name, operation: operation, phase: phase)
        let time = RFC3339.format(now)
        status.message = message
        status.executions = executions
        status.startedAt = started ? time : nil
        status.updatedAt = updated ? time : nil
        status.finishedAt = finished ? time : nil
        status.backoff = backoff
        status.status = pluginStatus
        return status
    }

    static func transition(_ text: String, warning: Bool = false) -> StepPlugins.Event {
        StepPlugins.Event(warning: warning, reason: "StepPluginTransition", message: text)
    }

    static let recordRows: [RecordRow] = [
        RecordRow(
            name: "a Successful Run ends the step; its completion is the step's own event", call: runA,
            outcome: .result(phase: "Successful", message: "done", requeueAfter: 0, status: ["n": 1]),
            after: [
                recorded(
                    1, .run, .successful, message: "done", executions: 1, updated: true, finished: true,
                    pluginStatus: ["n": 1])
            ]),
        RecordRow(
            name: "a Running Run that asks for 10 s or less waits 30 s", call: runA,
            outcome: .result(phase: "Running", message: "", requeueAfter: 5, status: nil),
            after: [recorded(1, .run, .running, executions: 1, updated: true, backoff: "30s")],
            event: transition("Step plugin acme/a (step 2) transitioned to Running")),
        RecordRow(
            name: "one that asks for a minute waits a minute; the phase is unchanged, so no event", call: runA,
            before: [recorded(1, .run, .running, executions: 1, updated: true, backoff: "30s")],
            outcome: .result(phase: "", message: "", requeueAfter: 60, status: ["n": 2]),
            after: [recorded(1, .run, .running, executions: 2, updated: true, backoff: "1m0s", pluginStatus: ["n": 2])]),
        RecordRow(
            name: "an error is an Error with Argo's 30 s backoff, and keeps the status", call: runA,
            before: [recorded(1, .run, .running, executions: 1, updated: true, backoff: "30s", pluginStatus: ["n": 1])],
            outcome: .error("boom"),
            after: [
                recorded(
                    1, .run, .error, message: "boom", executions: 2, updated: true, backoff: "30s",
                    pluginStatus: ["n": 1])
            ],
            event: transition("Step plugin acme/a (step 2) transitioned to Error", warning: true)),
        RecordRow(
            name: "a Failed Run", call: runA,
            outcome: .result(phase: "Failed", message: "no", requeueAfter: 0, status: nil),
            after: [recorded(1, .run, .failed, message: "no", executions: 1, updated: true, finished: true)],
            event: transition("Step plugin acme/a (step 2) transitioned to Failed", warning: true)),
        RecordRow(
            name: "a phase that is not Argo's records nothing and retries", call: runA,
            outcome: .result(phase: "Done", message: "", requeueAfter: 0, status: nil), after: [],
            retry: "could not validate rpc phase: phase 'Done' is not valid"),
        RecordRow(
            name: "a plugin that cannot be asked records nothing and retries", call: runA,
            outcome: .unavailable("failed to get step plugin acme/a"), after: [],
            retry: "failed to get step plugin acme/a"),
        RecordRow(
            name: "a disabled plugin's step is done without a call or event", call: runA, outcome: .disabled,
            after: [
                {
                    var disabled = StepPluginStatus(index: 1, name: "acme/a", operation: .run)
                    disabled.disabled = true
                    return disabled
                }()
            ]),
        RecordRow(
            name: "Terminate cannot run on: Running is Failed",
            call: StepPlugins.Call(.terminate, index: 1, name: "acme/a"),
            before: [recorded(1, .run, .running, executions: 1)],
            outcome: .result(phase: "Running", message: "still", requeueAfter: 0, status: nil),
            after: [
                recorded(1, .run, .running, executions: 1),
                recorded(1, .terminate, .failed, message: "still", finished: true),
            ],
            event: transition("Step plugin acme/a (step 2) terminated (Failed)", warning: true)),
        RecordRow(
            name: "Abort without a phase is Successful",
            call: StepPlugins.Call(.abort, index: 1, name: "acme/a"),
            before: [recorded(1, .run, .successful, executions: 1)],
            outcome: .result(phase: "", message: "", requeueAfter: 0, status: nil),
            after: [recorded(1, .run, .successful, executions: 1), recorded(1, .abort, .successful, finished: true)],
            event: transition("Step plugin acme/a (step 2) aborted (Successful)")),
        RecordRow(
            name: "an Abort that errs", call: StepPlugins.Call(.abort, index: 1, name: "acme/a"),
            before: [recorded(1, .run, .successful, executions: 1)], outcome: .error("gone"),
            after: [
                recorded(1, .run, .successful, executions: 1),
                recorded(1, .abort, .error, message: "gone", finished: true),
            ],
            event: transition("Step plugin acme/a (step 2) aborted (Error)", warning: true)),
    ]

    @Test(arguments: recordRows) func record(_ row: RecordRow) {
        var statuses = row.before
        let (event, retry) = StepPlugins.record(row.outcome, of: row.call, in: &statuses, now: Self.now)
        #expect(statuses == row.after)
        #expect(event == row.event)
        #expect(retry == row.retry)
    }

    @Test(arguments: [(30.0, "30s"), (60, "1m0s"), (5400, "1h30m0s"), (3600, "1h0m0s"), (1.5, "1.5s"), (0, "0s")])
    func goDurations(seconds: Double, text: String) {
        #expect(GoDurationText.format(seconds) == text)
    }
}

/// Plugin steps through the reconciler, with the simulator answering the plugin calls.
struct StepPluginScenarioTests {
    static let rollout = Fixtures.rollout(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          replicas: 4
        \(Fixtures.template(image: "web:1"))
          strategy:
            canary:
              steps:
              - setWeight: 25
              - plugin: {name: acme/migrate, config: {database: orders}}
              - pause: {duration: 1m}
        """)

    @Test func aPlanShowsThePluginStepAsDone() {
        let actions = RolloutPlan.make(for: Self.rollout).map(\.action)
        #expect(actions == ["setWeight: 25", "plugin: acme/migrate", "pause: 1m", "promoted"], "\(actions)")
    }

    @Test func aSuccessfulRunMovesOnAndAFailedOneAborts() {
        var simulator = RolloutSimulator.deployed(Self.rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 2)
        #expect(simulator.status.canary?.stepPluginStatuses?.map(\.phase) == [.successful])

        var failing = RolloutSimulator.deployed(Self.rollout)
        failing.stepPluginPhase = .failed
        failing.rollout = Fixtures.withImage(failing.rollout, "web:2")
        failing.settle()
        #expect(failing.status.abort == true)
        #expect(failing.status.phase == .degraded)
        #expect(failing.status.message?.hasSuffix("Step Plugin 2 (acme/migrate) failed: ") == true)
        // A Failed Run has nothing to revert: no Abort is recorded.
        #expect(failing.status.canary?.stepPluginStatuses?.map(\.operation) == [.run])
    }

    @Test func aStepWithoutAnAnswerWaits() {
        var simulator = RolloutSimulator.deployed(Self.rollout)
        simulator.stepPluginPhase = nil
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 1)
        #expect(simulator.status.phase == .progressing)
    }
}
