import AviaryJSON
import AviaryKubernetes
import Foundation

/// The writes `kubectl argo rollouts` makes for each verb, computed from the Rollout as read, so that
/// Aviary's CLI drives a cluster exactly as Argo's plugin does, whichever controller runs there.
///
/// Status patches go to the `status` subresource, spec patches to the object; both are JSON merge
/// patches. Pure: the tests give a Rollout's JSON and compare the patches byte for byte.
public enum RolloutPatches {
    /// One verb's writes: a merge patch of the status subresource, then one of the object, either
    /// of which may be absent.
    public struct Writes: Sendable, Equatable {
        /// `{"status": {...}}` for `PATCH .../rollouts/NAME/status`.
        public var status: JSONValue?
        /// `{"spec": {...}}` for `PATCH .../rollouts/NAME`.
        public var spec: JSONValue?

        /// Writes of a status patch and a spec patch.
        public init(status: JSONValue? = nil, spec: JSONValue? = nil) {
            self.status = status
            self.spec = spec
        }

        /// Whether there is nothing to write.
        public var isEmpty: Bool { status == nil && spec == nil }
    }

    /// `promote`, as Argo's plugin decides it:
    /// - `--full`: `{"status":{"promoteFull":true}}`, unless the current pod hash is already the
    ///   stable one (then nothing).
    /// - an inconclusive step analysis that paused the rollout (`controllerPause` and pause
    ///   conditions): `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":N+1}}`;
    /// - other pause conditions: `{"status":{"pauseConditions":null}}`;
    /// - a canary with steps and no pause condition (a running analysis or experiment step):
    ///   `{"status":{"pauseConditions":null,"currentStepIndex":N+1}}`, skipping the current step;
    /// - and, whenever `spec.paused` is true, `{"spec":{"paused":false}}` besides.
    ///
    /// N+1 stops at the number of steps. Example: a canary of 4 steps paused by an inconclusive
    /// analysis at step 1 gets `currentStepIndex` 2.
    public static func promote(_ rollout: JSONValue, full: Bool) -> Writes {
        let status = rollout["status"]
        if full {
            guard status?["currentPodHash"] != status?["stableRS"] else { return Writes() }
            return Writes(status: ["status": ["promoteFull": true]])
        }
        var writes = Writes()
        if rollout["spec"]?["paused"] == .bool(true) { writes.spec = ["spec": ["paused": false]] }
        let pauseConditions = status?["pauseConditions"]?.arrayValue ?? []
        let isInconclusive =
            rollout["spec"]?["strategy"]?["canary"] != nil
            && status?["canary"]?["currentStepAnalysisRunStatus"]?["status"] == "Inconclusive"
        if isInconclusive, !pauseConditions.isEmpty, status?["controllerPause"] == .bool(true) {
            if let next = nextStepIndex(rollout) {
                writes.status = [
                    "status": ["pauseConditions": .null, "controllerPause": false, "currentStepIndex": .integer(next)]
                ]
            }
        } else if !pauseConditions.isEmpty {
            writes.status = ["status": ["pauseConditions": .null]]
        } else if rollout["spec"]?["strategy"]?["canary"] != nil, let next = nextStepIndex(rollout) {
            writes.status = ["status": ["pauseConditions": .null, "currentStepIndex": .integer(next)]]
        }
        return writes
    }

    /// `abort`: `{"status":{"abort":true}}`.
    public static let abort = Writes(status: ["status": ["abort": true]])

    /// `retry rollout`: `{"status":{"abort":false}}`.
    public static let retry = Writes(status: ["status": ["abort": false]])

    /// `pause`: `{"spec":{"paused":true}}`.
    public static let pause = Writes(spec: ["spec": ["paused": true]])

    /// `restart [--in D]`: `{"spec":{"restartAt":"RFC3339"}}`, the time in UTC to the second.
    public static func restart(at time: Date) -> Writes {
        Writes(spec: ["spec": ["restartAt": .string(rfc3339(time))]])
    }

    /// The index after the current canary step, at most the number of steps; nil without steps
    /// (Argo's `GetCurrentCanaryStep`: a missing `currentStepIndex` counts as 0).
    static func nextStepIndex(_ rollout: JSONValue) -> Int64? {
        guard let steps = rollout["spec"]?["strategy"]?["canary"]?["steps"]?.arrayValue, !steps.isEmpty else {
            return nil
        }
        let current = rollout["status"]?["currentStepIndex"]?.integerValue ?? 0
        return current < Int64(steps.count) ? current + 1 : current
    }

    /// `2026-12-02T06:40:00Z`.
    static func rfc3339(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: time)
    }
}

extension JSONValue {
    /// Whether every field set in `self` has the same value in `other` (Kubernetes'
    /// `Semantic.DeepDerivative`): fields `self` leaves out, empty or null are not compared, so a
    /// Rollout's template equals the ReplicaSet template the API server filled in with defaults.
    func isDerivative(of other: JSONValue?) -> Bool {
        switch self {
        case .null: return true
        case .object(let members):
            if members.isEmpty { return true }
            guard case .object(let others)? = other else { return false }
            return members.allSatisfy { key, value in value.isDerivative(of: others[key]) }
        case .array(let elements):
            if elements.isEmpty { return true }
            guard case .array(let others)? = other, others.count == elements.count else { return false }
            return zip(elements, others).allSatisfy { $0.isDerivative(of: $1) }
        case .string(let text) where text.isEmpty: return true
        default: return self == other
        }
    }
}
