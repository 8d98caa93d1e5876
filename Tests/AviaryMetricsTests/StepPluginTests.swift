import AviaryCore
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Step plugin calls against a real go-plugin step plugin (the Go peer beside these tests).
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct StepPluginTests {
    static func plugins(
        list: String = "stepPlugins", disabled: Bool = false, callTimeout: Duration = ArgoPluginHost.defaultCallTimeout
    ) throws -> (ArgoStepPlugins, ArgoPluginHost) {
        let binary = try GoPluginPeer.build(GoPluginPeer.stepPluginSource)
        let host = ArgoPluginHost(
            kind: .step,
            configuration: {
                [list: "- name: aviary-test/step\n  location: file://\(binary)\n  disabled: \(disabled)"]
            },
            configurationPlace: "namespace argo-rollouts",
            binDirectory: NSTemporaryDirectory() + "aviary-plugin-bin-" + UUID().uuidString, callTimeout: callTimeout,
            log: { _, _ in })
        return (ArgoStepPlugins(host: host), host)
    }

    static let rollout: Rollout = try! JSONValue(
        parsing: Data(
            #"""
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
             "metadata": {"name": "web", "namespace": "shop", "uid": "u-9"},
             "spec": {"strategy": {"canary": {"steps": [{"setWeight": 10}]}}},
             "status": {"currentStepIndex": 1, "phase": "Progressing"}}
            """#.utf8)
    ).decoded(as: Rollout.self)

    static func call(
        _ operation: StepPluginOperation, _ config: JSONValue, status: JSONValue? = nil
    ) -> StepPlugins.Call {
        StepPlugins.Call(operation, index: 1, name: "aviary-test/step", config: config, status: status)
    }

    @Test func runCarriesTheContextAndARunningAnswerItsWaitAndStatus() async throws {
        let (plugins, host) = try Self.plugins()
        let record = NSTemporaryDirectory() + "aviary-step-" + UUID().uuidString + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let config: JSONValue = [
            "record": .string(record), "phase": "Running", "requeueAfterSeconds": 90, "runs": 2,
            "finalPhase": "Successful", "message": "migrating",
        ]
        let first = await plugins.perform(Self.call(.run, config), rollout: Self.rollout)
        #expect(first == .result(phase: "Running", message: "migrating", requeueAfter: 90, status: ["count": 1]))
        let second = await plugins.perform(Self.call(.run, config, status: ["count": 1]), rollout: Self.rollout)
        #expect(second == .result(phase: "Successful", message: "migrating", requeueAfter: 0, status: ["count": 2]))
        let calls = GoPluginPeer.recordedCalls(record)
        #expect(calls.count == 2)
        #expect(calls.first?["pluginName"] as? String == "aviary-test/step")
        #expect(calls.first?["rollout"] as? String == "web")
        #expect(calls.first?["namespace"] as? String == "shop")
        #expect(calls.first?["uid"] as? String == "u-9")
        #expect(calls.first?["currentStepIndex"] as? Int == 1)
        #expect(calls.first?["status"] is NSNull)
        #expect((calls.last?["status"] as? [String: Any])?["count"] as? Int == 1)
        let terminate = await plugins.perform(Self.call(.terminate, config), rollout: Self.rollout)
        #expect(terminate == .result(phase: "Successful", message: "stopped", requeueAfter: 0, status: nil))
        await host.stopAll()
    }

    @Test func anErrorAndAPhaseArgoDoesNotKnowAreTheOutcome() async throws {
        let (plugins, host) = try Self.plugins()
        #expect(await plugins.perform(Self.call(.run, ["error": "quota"]), rollout: Self.rollout) == .error("quota"))
        let odd = await plugins.perform(Self.call(.run, ["phase": "Done"]), rollout: Self.rollout)
        #expect(odd == .result(phase: "Done", message: "", requeueAfter: 0, status: ["count": 1]))
        await host.stopAll()
    }

    @Test func aPluginThatDoesNotAnswerInTimeIsStoppedAndStartedAgain() async throws {
        let (plugins, host) = try Self.plugins(callTimeout: .seconds(1))
        let record = NSTemporaryDirectory() + "aviary-step-" + UUID().uuidString + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let hung = await plugins.perform(
            Self.call(.run, ["record": .string(record), "sleepSeconds": 600]), rollout: Self.rollout)
        #expect(
            hung
                == .error(
                    "Run rpc call error: step plugin aviary-test/step did not answer Plugin.Run within 1.0 seconds; "
                        + "it was stopped, and the next call starts it again"))
        let answered = await plugins.perform(
            Self.call(.run, ["record": .string(record), "phase": "Successful"]), rollout: Self.rollout)
        #expect(answered == .result(phase: "Successful", message: "", requeueAfter: 0, status: ["count": 1]))
        let pids = GoPluginPeer.recordedCalls(record).compactMap { ($0["pid"] as? Int).map(Int32.init) }
        #expect(pids.count == 2)
        #expect(pids.first.map(isRunning) == false, "the plugin that hung was stopped")
        #expect(Set(pids).count == 2, "a new process answered the next call")
        await host.stopAll()
    }

    /// As Go's net/rpc client, calls to one plugin do not wait for each other's answers: while one
    /// call hangs in the plugin, another is answered, by the same process.
    @Test func aCallThatHangsHoldsNoOtherCall() async throws {
        let (plugins, host) = try Self.plugins()
        let record = NSTemporaryDirectory() + "aviary-step-" + UUID().uuidString + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        let hanging = Task {
            await plugins.perform(
                Self.call(.run, ["record": .string(record), "sleepSeconds": 600]), rollout: Self.rollout)
        }
        #expect(await eventually { GoPluginPeer.recordedCalls(record).count == 1 }, "the plugin has the first call")
        let answered = await plugins.perform(
            Self.call(.run, ["record": .string(record), "phase": "Successful"]), rollout: Self.rollout)
        #expect(answered == .result(phase: "Successful", message: "", requeueAfter: 0, status: ["count": 1]))
        let pids = Set(GoPluginPeer.recordedCalls(record).compactMap { $0["pid"] as? Int })
        #expect(pids.count == 1, "the process that has the hanging call answered the other")
        await host.stopAll()
        guard case .error(let message) = await hanging.value else {
            Issue.record("the call that hung did not end with an error when its plugin was stopped")
            return
        }
        #expect(message.hasPrefix("Run rpc call error: "))
    }

    @Test func aDisabledPluginIsNotStartedAndAnUnlistedOneIsNamed() async throws {
        let (disabled, _) = try Self.plugins(disabled: true)
        #expect(await disabled.perform(Self.call(.run, [:]), rollout: Self.rollout) == .disabled)
        let (unlisted, _) = try Self.plugins(list: "metricProviderPlugins")
        let outcome = await unlisted.perform(Self.call(.run, [:]), rollout: Self.rollout)
        #expect(
            outcome
                == .unavailable(
                    "could not create step plugin at index 1 : step plugin aviary-test/step is not configured: add it "
                        + "to stepPlugins of the ConfigMap argo-rollouts-config in namespace argo-rollouts "
                        + "(- name: aviary-test/step, location: file://… or https://…)"))
    }
}
