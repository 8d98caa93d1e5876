import Foundation

/// The pure rules of a pod's life: restart backoff and readiness, with time as an argument.
public enum PodLifecycle {
    /// The delay before restarting a process that exited, after `restarts` earlier restarts:
    /// `min(base × 2^restarts, cap)`. With base 1 s and cap 60 s: 1, 2, 4, 8, 16, 32, 60, 60 s.
    public static func restartDelay(restarts: Int, base: Double = 1, cap: Double = 60) -> Double {
        min(base * pow(2, Double(min(restarts, 30))), cap)
    }

    /// Whether a probe of `pod` is due at `now`: after `initialDelaySeconds` from the process
    /// start, then every `periodSeconds`.
    public static func isProbeDue(_ pod: PodRecord, probe: ReadinessProbe, now: Date) -> Bool {
        guard pod.process != nil, let startedAt = pod.startedAt else { return false }
        guard now.timeIntervalSince(startedAt) >= probe.initialDelaySeconds else { return false }
        guard let lastProbeAt = pod.lastProbeAt else { return true }
        return now.timeIntervalSince(lastProbeAt) >= probe.periodSeconds
    }

    /// Applies one probe result: a success makes the pod ready (one success is enough, as
    /// `successThreshold` 1); `failureThreshold` failures in a row make it unready.
    public static func applyProbe(_ pod: PodRecord, succeeded: Bool, probe: ReadinessProbe, now: Date) -> PodRecord {
        var pod = pod
        pod.lastProbeAt = now
        if succeeded {
            pod.consecutiveProbeFailures = 0
            if !pod.isReady {
                pod.isReady = true
                pod.readySince = now
            }
        } else {
            pod.consecutiveProbeFailures += 1
            if pod.isReady && pod.consecutiveProbeFailures >= max(probe.failureThreshold, 1) {
                pod.isReady = false
                pod.readySince = nil
            }
        }
        return pod
    }

    /// The pod after its process exited at `now`: unready, and due for a restart after the backoff.
    /// A process that ran for `resetAfter` seconds or more starts the backoff over.
    public static func applyExit(
        _ pod: PodRecord, termination: String, now: Date, resetAfter: Double = 60
    )
        -> PodRecord
    {
        var pod = pod
        let ranFor = pod.startedAt.map { now.timeIntervalSince($0) } ?? 0
        let backoffStep = ranFor >= resetAfter ? 0 : pod.restarts
        pod.process = nil
        pod.isReady = false
        pod.readySince = nil
        pod.consecutiveProbeFailures = 0
        pod.lastProbeAt = nil
        pod.lastTermination = termination
        pod.nextStartAt = now.addingTimeInterval(restartDelay(restarts: backoffStep))
        pod.restarts += 1
        return pod
    }
}
