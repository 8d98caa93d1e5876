import AviaryModel
import Testing

@testable import AviaryServer

/// `workloadRef.scaleDown` as Argo applies it to the Deployment the first revision migrates from.
@Suite struct WorkloadScaleDownTests {
    static func status(_ phase: RolloutPhase, ready: Int) -> RolloutStatus {
        var status = RolloutStatus()
        status.phase = phase
        status.readyReplicas = ready
        return status
    }

    static let rows: [(mode: String?, phase: RolloutPhase, ready: Int, revision: Int?, expected: Int?)] = [
        // never (or absent): the Deployment is left alone.
        (nil, .healthy, 4, 1, nil),
        ("never", .healthy, 4, 1, nil),
        // onsuccess: 0 once Healthy, untouched before.
        ("onsuccess", .progressing, 3, 1, nil),
        ("onsuccess", .healthy, 4, 1, 0),
        ("OnSuccess", .healthy, 4, 1, 0),
        // progressively: what the rollout lacks of ready pods, 0 once Healthy; nothing before any is ready.
        ("progressively", .progressing, 0, 1, nil),
        ("progressively", .progressing, 1, 1, 3),
        ("progressively", .progressing, 3, 1, 1),
        ("progressively", .degraded, 2, 1, 2),
        ("progressively", .healthy, 4, 1, 0),
        // A later revision is not a migration: left alone.
        ("onsuccess", .healthy, 4, 2, nil),
        ("progressively", .progressing, 2, 3, nil),
        ("progressively", .progressing, 2, nil, nil),
    ]

    @Test(arguments: rows.indices)
    func replicas(row: Int) {
        let (mode, phase, ready, revision, expected) = Self.rows[row]
        #expect(
            WorkloadScaleDown.replicas(
                mode: mode, desired: 4, status: Self.status(phase, ready: ready), currentRevision: revision) == expected
        )
    }
}
