import Testing

@testable import AviaryCore

/// Cases from Argo Rollouts' `utils/replicaset/canary_test.go` and the doc comments of its
/// replica calculation.
@Suite struct ReplicaMathTests {
    struct Approximation: Sendable, CustomTestStringConvertible {
        var replicas: Int, weight: Int, maxSurge: Int, canary: Int, stable: Int
        var testDescription: String { "\(replicas) replicas at \(weight)% surge \(maxSurge)" }
    }

    /// Argo's `TestApproximateWeightedNewStableReplicaCounts` table, plus the 41% example and the one
    /// case where Aviary keeps the floor instead of Argo's 0 (10 replicas at 95% without surge).
    @Test(arguments: [
        Approximation(replicas: 0, weight: 0, maxSurge: 0, canary: 0, stable: 0),
        Approximation(replicas: 0, weight: 50, maxSurge: 0, canary: 0, stable: 0),
        Approximation(replicas: 0, weight: 100, maxSurge: 0, canary: 0, stable: 0),
        Approximation(replicas: 0, weight: 0, maxSurge: 1, canary: 0, stable: 0),
        Approximation(replicas: 0, weight: 50, maxSurge: 1, canary: 0, stable: 0),
        Approximation(replicas: 0, weight: 100, maxSurge: 1, canary: 0, stable: 0),
        Approximation(replicas: 1, weight: 0, maxSurge: 0, canary: 0, stable: 1),
        Approximation(replicas: 1, weight: 1, maxSurge: 0, canary: 0, stable: 1),
        Approximation(replicas: 1, weight: 49, maxSurge: 0, canary: 0, stable: 1),
        Approximation(replicas: 1, weight: 50, maxSurge: 0, canary: 1, stable: 0),
        Approximation(replicas: 1, weight: 99, maxSurge: 0, canary: 1, stable: 0),
        Approximation(replicas: 1, weight: 100, maxSurge: 0, canary: 1, stable: 0),
        Approximation(replicas: 1, weight: 0, maxSurge: 1, canary: 0, stable: 1),
        Approximation(replicas: 1, weight: 1, maxSurge: 1, canary: 1, stable: 1),
        Approximation(replicas: 1, weight: 49, maxSurge: 1, canary: 1, stable: 1),
        Approximation(replicas: 1, weight: 50, maxSurge: 1, canary: 1, stable: 1),
        Approximation(replicas: 1, weight: 99, maxSurge: 1, canary: 1, stable: 1),
        Approximation(replicas: 1, weight: 100, maxSurge: 1, canary: 1, stable: 0),
        Approximation(replicas: 2, weight: 0, maxSurge: 0, canary: 0, stable: 2),
        Approximation(replicas: 2, weight: 1, maxSurge: 0, canary: 1, stable: 1),
        Approximation(replicas: 2, weight: 50, maxSurge: 0, canary: 1, stable: 1),
        Approximation(replicas: 2, weight: 99, maxSurge: 0, canary: 1, stable: 1),
        Approximation(replicas: 2, weight: 100, maxSurge: 0, canary: 2, stable: 0),
        Approximation(replicas: 2, weight: 0, maxSurge: 1, canary: 0, stable: 2),
        Approximation(replicas: 2, weight: 1, maxSurge: 1, canary: 1, stable: 2),
        Approximation(replicas: 2, weight: 50, maxSurge: 1, canary: 1, stable: 1),
        Approximation(replicas: 2, weight: 99, maxSurge: 1, canary: 2, stable: 1),
        Approximation(replicas: 2, weight: 100, maxSurge: 1, canary: 2, stable: 0),
        Approximation(replicas: 3, weight: 10, maxSurge: 0, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 25, maxSurge: 0, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 33, maxSurge: 0, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 34, maxSurge: 0, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 49, maxSurge: 0, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 50, maxSurge: 0, canary: 2, stable: 1),
        Approximation(replicas: 3, weight: 10, maxSurge: 1, canary: 1, stable: 3),
        Approximation(replicas: 3, weight: 25, maxSurge: 1, canary: 1, stable: 3),
        Approximation(replicas: 3, weight: 33, maxSurge: 1, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 34, maxSurge: 1, canary: 1, stable: 2),
        Approximation(replicas: 3, weight: 49, maxSurge: 1, canary: 2, stable: 2),
        Approximation(replicas: 3, weight: 50, maxSurge: 1, canary: 2, stable: 2),
        Approximation(replicas: 10, weight: 0, maxSurge: 1, canary: 0, stable: 10),
        Approximation(replicas: 10, weight: 1, maxSurge: 0, canary: 1, stable: 9),
        Approximation(replicas: 10, weight: 14, maxSurge: 0, canary: 1, stable: 9),
        Approximation(replicas: 10, weight: 15, maxSurge: 0, canary: 2, stable: 8),
        Approximation(replicas: 10, weight: 16, maxSurge: 0, canary: 2, stable: 8),
        Approximation(replicas: 10, weight: 99, maxSurge: 0, canary: 9, stable: 1),
        Approximation(replicas: 10, weight: 100, maxSurge: 1, canary: 10, stable: 0),
        Approximation(replicas: 10, weight: 1, maxSurge: 1, canary: 1, stable: 10),
        Approximation(replicas: 10, weight: 18, maxSurge: 1, canary: 2, stable: 9),
        Approximation(replicas: 10, weight: 19, maxSurge: 1, canary: 2, stable: 9),
        Approximation(replicas: 10, weight: 20, maxSurge: 1, canary: 2, stable: 8),
        Approximation(replicas: 10, weight: 23, maxSurge: 1, canary: 2, stable: 8),
        Approximation(replicas: 10, weight: 24, maxSurge: 1, canary: 3, stable: 8),
        Approximation(replicas: 10, weight: 25, maxSurge: 1, canary: 3, stable: 8),
        Approximation(replicas: 10, weight: 99, maxSurge: 1, canary: 10, stable: 1),
        Approximation(replicas: 10, weight: 41, maxSurge: 0, canary: 4, stable: 6),
        Approximation(replicas: 10, weight: 41, maxSurge: 1, canary: 4, stable: 6),
        Approximation(replicas: 10, weight: 95, maxSurge: 0, canary: 9, stable: 1),
    ])
    func approximateWeightedCounts(_ row: Approximation) {
        let counts = CanaryReplicaMath.approximateWeightedCounts(
            replicas: row.replicas, weight: row.weight, maxSurge: row.maxSurge)
        #expect(counts.canary == row.canary)
        #expect(counts.stable == row.stable)
    }

    struct Basic: Sendable, CustomTestStringConvertible {
        var name: String
        var replicas: Int, weight: Int, surge: PercentOrCount, unavailable: PercentOrCount
        var stable: ReplicaCount?, canary: ReplicaCount?
        var otherDesired = 0
        var expectedCanary: Int, expectedStable: Int
        var testDescription: String { name }
    }

    @Test(arguments: [
        Basic(
            name: "10 replicas at 10%, unavailable 1, surge 1", replicas: 10, weight: 10, surge: .count(1),
            unavailable: .count(1), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 1, expectedStable: 9),
        Basic(
            name: "10 replicas at 30%, unavailable 0, surge 3", replicas: 10, weight: 30, surge: .count(3),
            unavailable: .count(0), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 3, expectedStable: 10),
        Basic(
            name: "10 replicas at 30%, unavailable 5, surge 0", replicas: 10, weight: 30, surge: .count(0),
            unavailable: .count(5), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 0, expectedStable: 7),
        Basic(
            name: "10 replicas at 5%, unavailable 1, surge 1 (1 of 11 is nearest)", replicas: 10, weight: 5,
            surge: .count(1), unavailable: .count(1), stable: ReplicaCount(desired: 10),
            canary: ReplicaCount(desired: 0), expectedCanary: 1, expectedStable: 10),
        Basic(
            name: "1 replica at 5%, unavailable 0, surge 1", replicas: 1, weight: 5, surge: .count(1),
            unavailable: .count(0), stable: ReplicaCount(desired: 1), canary: ReplicaCount(desired: 0),
            expectedCanary: 1, expectedStable: 1),
        Basic(
            name: "extra available stable pods are not spent twice", replicas: 10, weight: 100, surge: .count(3),
            unavailable: .count(0), stable: ReplicaCount(desired: 7, available: 8),
            canary: ReplicaCount(desired: 6, available: 3), expectedCanary: 6, expectedStable: 7),
        Basic(
            name: "surge percentage scales the canary up", replicas: 10, weight: 20, surge: .percent(20),
            unavailable: .count(0), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 2, expectedStable: 10),
        Basic(
            name: "extra stable pods are scaled down", replicas: 10, weight: 20, surge: .percent(20),
            unavailable: .count(0), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 2),
            expectedCanary: 2, expectedStable: 8),
        Basic(
            name: "never past the surge", replicas: 10, weight: 30, surge: .count(2), unavailable: .count(0),
            stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0), expectedCanary: 2,
            expectedStable: 10),
        Basic(
            name: "unavailability budget scales the stable down", replicas: 10, weight: 20, surge: .count(0),
            unavailable: .percent(20), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 0, expectedStable: 8),
        Basic(
            name: "never past unavailability", replicas: 10, weight: 30, surge: .count(0), unavailable: .count(2),
            stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0), expectedCanary: 0,
            expectedStable: 8),
        Basic(
            name: "surge and unavailability together", replicas: 10, weight: 50, surge: .count(2),
            unavailable: .count(1), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0),
            expectedCanary: 2, expectedStable: 9),
        Basic(
            name: "weight 0 scales the canary to zero", replicas: 10, weight: 0, surge: .count(1),
            unavailable: .count(1), stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 1),
            expectedCanary: 0, expectedStable: 10),
        Basic(
            name: "weight 100 scales the stable to zero", replicas: 10, weight: 100, surge: .count(1),
            unavailable: .count(1), stable: ReplicaCount(desired: 1), canary: ReplicaCount(desired: 10),
            expectedCanary: 10, expectedStable: 0),
        Basic(
            name: "older ReplicaSets go first", replicas: 10, weight: 20, surge: .count(0), unavailable: .count(2),
            stable: ReplicaCount(desired: 10), canary: ReplicaCount(desired: 0), otherDesired: 2,
            expectedCanary: 0, expectedStable: 10),
        Basic(
            name: "no stable: the canary takes all", replicas: 4, weight: 20, surge: .count(1),
            unavailable: .count(1), stable: nil, canary: ReplicaCount(desired: 0), expectedCanary: 4,
            expectedStable: 0),
        Basic(
            name: "10 replicas at 41% settles at 4 / 6", replicas: 10, weight: 41, surge: .count(1),
            unavailable: .count(0), stable: ReplicaCount(desired: 6), canary: ReplicaCount(desired: 4),
            expectedCanary: 4, expectedStable: 6),
    ])
    func basicCanaryCounts(_ row: Basic) {
        let budgets = RolloutBudgets.resolve(
            maxSurgePercentOrCount: row.surge, maxUnavailable: row.unavailable, replicas: row.replicas)
        let counts = CanaryReplicaMath.basicCanaryCounts(
            .init(
                replicas: row.replicas, weight: row.weight, budgets: budgets, canary: row.canary, stable: row.stable,
                otherDesired: row.otherDesired))
        #expect(counts.canary == row.expectedCanary)
        #expect(counts.stable == row.expectedStable)
    }

    struct Routed: Sendable, CustomTestStringConvertible {
        var name: String
        var input: CanaryReplicaMath.TrafficRoutedInput
        var canary: Int, stable: Int
        var testDescription: String { name }
    }

    @Test(arguments: [
        Routed(name: "10 at 41%", input: .init(replicas: 10, weight: 41), canary: 5, stable: 10),
        Routed(name: "10 at 5%", input: .init(replicas: 10, weight: 5), canary: 1, stable: 10),
        Routed(name: "10 at 0%", input: .init(replicas: 10, weight: 0), canary: 0, stable: 10),
        Routed(name: "max weight 1000", input: .init(replicas: 10, weight: 15, maxWeight: 1000), canary: 1, stable: 10),
        Routed(
            name: "setCanaryScale replicas", input: .init(replicas: 10, weight: 20, explicitCanaryReplicas: 3),
            canary: 3, stable: 10),
        Routed(
            name: "minPodsPerReplicaSet", input: .init(replicas: 10, weight: 5, minPodsPerReplicaSet: 2), canary: 2,
            stable: 10),
        Routed(
            name: "minPodsPerReplicaSet capped at replicas",
            input: .init(replicas: 3, weight: 5, minPodsPerReplicaSet: 5), canary: 3, stable: 3),
        Routed(
            name: "minPodsPerReplicaSet leaves 0 alone", input: .init(replicas: 10, weight: 0, minPodsPerReplicaSet: 2),
            canary: 0, stable: 10),
        Routed(
            name: "dynamic stable before traffic moved",
            input: .init(
                replicas: 10, weight: 41, dynamicStableScale: true, actualCanaryWeight: 0, actualStableWeight: 100),
            canary: 5, stable: 10),
        Routed(
            name: "dynamic stable after traffic moved",
            input: .init(
                replicas: 10, weight: 41, dynamicStableScale: true, actualCanaryWeight: 41, actualStableWeight: 59),
            canary: 5, stable: 6),
        Routed(
            name: "dynamic stable while aborting keeps canary for its traffic",
            input: .init(
                replicas: 10, weight: 0, dynamicStableScale: true, isAborted: true, actualCanaryWeight: 60,
                actualStableWeight: 40),
            canary: 6, stable: 10),
    ])
    func trafficRoutedCounts(_ row: Routed) {
        let counts = CanaryReplicaMath.trafficRoutedCounts(row.input)
        #expect(counts.canary == row.canary)
        #expect(counts.stable == row.stable)
    }

    @Test func budgetsFollowArgoRounding() {
        #expect(
            RolloutBudgets.resolve(maxSurgePercentOrCount: .percent(25), maxUnavailable: .percent(25), replicas: 10)
                == RolloutBudgets(maxSurge: 3, maxUnavailable: 2))
        #expect(
            RolloutBudgets.resolve(maxSurgePercentOrCount: .percent(0), maxUnavailable: .percent(10), replicas: 5)
                == RolloutBudgets(maxSurge: 0, maxUnavailable: 1))
        #expect(
            RolloutBudgets.resolve(maxSurgePercentOrCount: .count(0), maxUnavailable: .count(20), replicas: 5)
                == RolloutBudgets(maxSurge: 0, maxUnavailable: 5))
    }

    @Test func progressThreshold() {
        #expect(CanaryReplicaMath.progressThresholdMet(nil, replicaSet: ReplicaCount(desired: 4), desired: 4))
        #expect(
            !CanaryReplicaMath.progressThresholdMet(nil, replicaSet: ReplicaCount(desired: 4, available: 3), desired: 4)
        )
        #expect(
            CanaryReplicaMath.progressThresholdMet(
                .percent(70), replicaSet: ReplicaCount(desired: 10, available: 7), desired: 10))
        #expect(
            !CanaryReplicaMath.progressThresholdMet(
                .percent(70), replicaSet: ReplicaCount(desired: 10, available: 6), desired: 10))
        #expect(
            CanaryReplicaMath.progressThresholdMet(
                .pods(3), replicaSet: ReplicaCount(desired: 10, available: 3), desired: 10))
    }
}
