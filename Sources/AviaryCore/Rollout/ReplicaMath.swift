/// The counts of one ReplicaSet that the replica maths reads: what its spec asks for and how many
/// of its pods are available.
public struct ReplicaCount: Sendable, Equatable, Hashable {
    /// `spec.replicas` of the ReplicaSet.
    public var desired: Int
    /// Pods that have been ready for at least `minReadySeconds`.
    public var available: Int

    /// Makes a count; `available` defaults to `desired` (a settled ReplicaSet).
    public init(desired: Int, available: Int? = nil) {
        self.desired = desired
        self.available = available ?? desired
    }
}

/// The surge and unavailability budgets of a rollout, resolved against its replica count.
public struct RolloutBudgets: Sendable, Equatable {
    /// How many pods above `replicas` may exist at once.
    public var maxSurge: Int
    /// How many pods below `replicas` may be unavailable at once.
    public var maxUnavailable: Int

    /// Makes budgets from already resolved numbers.
    public init(maxSurge: Int, maxUnavailable: Int) {
        self.maxSurge = maxSurge
        self.maxUnavailable = maxUnavailable
    }

    /// Resolves Argo's "fenceposts": surge rounds up, unavailability rounds down, and when both come
    /// out as zero unavailability becomes 1 (Argo's rule, so that a rollout whose percentages round
    /// to nothing can still move). Unavailability never exceeds `replicas`.
    ///
    /// Example: 10 replicas with the defaults 25%/25% give surge 3 (2.5 up) and unavailable 2 (2.5 down).
    public static func resolve(
        maxSurgePercentOrCount surge: PercentOrCount, maxUnavailable unavailable: PercentOrCount, replicas: Int
    ) -> RolloutBudgets {
        guard replicas > 0 else {
            return RolloutBudgets(maxSurge: surge.resolve(total: 0, roundUp: true), maxUnavailable: 0)
        }
        let resolvedSurge = surge.resolve(total: replicas, roundUp: true)
        var resolvedUnavailable = unavailable.resolve(total: replicas, roundUp: false)
        if resolvedSurge == 0 && resolvedUnavailable == 0 { resolvedUnavailable = 1 }
        return RolloutBudgets(maxSurge: resolvedSurge, maxUnavailable: min(resolvedUnavailable, replicas))
    }
}

/// A count or a percentage of a total, as `maxSurge: 25%` or `maxSurge: 3`.
public enum PercentOrCount: Sendable, Equatable {
    /// An absolute number of pods.
    case count(Int)
    /// A percentage of the rollout's replicas.
    case percent(Int)

    /// The number of pods this stands for out of `total`, rounding a fraction up or down.
    public func resolve(total: Int, roundUp: Bool) -> Int {
        switch self {
        case .count(let count): return count
        case .percent(let percent):
            let product = percent * total
            return roundUp ? (product + 99) / 100 : product / 100
        }
    }
}

/// Argo's canary replica maths, as plain functions of numbers.
public enum CanaryReplicaMath {
    /// The canary and stable counts that best approximate `weight` out of `maxWeight` with
    /// `replicas` pods (the total may be `replicas + 1` when a surge is allowed).
    ///
    /// Candidates are the floor and ceiling of `replicas × weight / maxWeight`, with a total of
    /// `replicas`, and with `replicas + 1` when `maxSurge > 0`; the candidate whose actual weight is
    /// nearest wins, the first (rounding up) on a tie. A weight of 1…99 never gives 0 canaries (nor
    /// 0 stable) unless there is one replica and no surge.
    ///
    /// Examples: 10 replicas at 41% → 4 canary, 6 stable; 3 replicas at 50% → 2 canary, 1 stable
    /// (tie rounds up); 1 replica at 5% with surge 1 → 1 canary, 1 stable.
    public static func approximateWeightedCounts(
        replicas: Int, weight: Int, maxWeight: Int = 100, maxSurge: Int
    ) -> (canary: Int, stable: Int) {
        guard replicas > 0 else { return (0, 0) }
        let exact = Double(replicas * weight) / Double(maxWeight)
        let ceilCount = Int(exact.rounded(.up))
        let floorCount = Int(exact.rounded(.down))
        let zeroAllowed = weight == maxWeight || weight == 0 || (replicas == 1 && maxSurge == 0)

        var options: [(canary: Int, total: Int)] = []
        if ceilCount < replicas || zeroAllowed { options.append((ceilCount, replicas)) }
        if !isTied(weight: weight, maxWeight: maxWeight, total: replicas) && (floorCount != 0 || zeroAllowed) {
            options.append((floorCount, replicas))
        }
        if maxSurge > 0 {
            options.append((ceilCount, replicas + 1))
            if !isTied(weight: weight, maxWeight: maxWeight, total: replicas + 1) && (floorCount != 0 || zeroAllowed) {
                options.append((floorCount, replicas + 1))
            }
        }
        // Argo returns 0 canaries when no option qualifies (10 replicas at 95% without surge: the
        // ceiling is all pods and the floor is excluded by the tie); the floor keeps 1…99 non-zero.
        guard var best = options.first else { return (floorCount, replicas - floorCount) }
        var bestDelta = delta(weight: weight, maxWeight: maxWeight, option: best)
        for option in options.dropFirst() {
            let optionDelta = delta(weight: weight, maxWeight: maxWeight, option: option)
            if optionDelta < bestDelta {
                best = option
                bestDelta = optionDelta
            }
        }
        return (best.canary, best.total - best.canary)
    }

    /// Whether the floor and the ceiling are equally far from the weight (3 pods at 50%: 1 and 2).
    private static func isTied(weight: Int, maxWeight: Int, total: Int) -> Bool {
        let exact = Double(total) * (Double(weight) / Double(maxWeight))
        return exact - exact.rounded(.down) == 0.5
    }

    private static func delta(weight: Int, maxWeight: Int, option: (canary: Int, total: Int)) -> Double {
        abs(Double(option.canary * maxWeight) / Double(option.total) - Double(weight))
    }

    /// The inputs of the basic (replica-weighted, no traffic router) canary calculation.
    public struct BasicCanaryInput: Sendable, Equatable {
        /// `spec.replicas`.
        public var replicas: Int
        /// The weight wanted now: the last `setWeight` at or before the current step, 0 when aborted,
        /// `maxWeight` past the last step or when promoted.
        public var weight: Int
        /// `trafficRouting.maxTrafficWeight`, 100 by default.
        public var maxWeight: Int
        /// The resolved surge and unavailability budgets.
        public var budgets: RolloutBudgets
        /// The canary (new) ReplicaSet, if it exists.
        public var canary: ReplicaCount?
        /// The stable ReplicaSet, if it exists and differs from the canary.
        public var stable: ReplicaCount?
        /// The sum of `spec.replicas` over all other ReplicaSets.
        public var otherDesired: Int

        /// Makes the input; see the properties.
        public init(
            replicas: Int, weight: Int, maxWeight: Int = 100, budgets: RolloutBudgets, canary: ReplicaCount?,
            stable: ReplicaCount?, otherDesired: Int = 0
        ) {
            self.replicas = replicas
            self.weight = weight
            self.maxWeight = maxWeight
            self.budgets = budgets
            self.canary = canary
            self.stable = stable
            self.otherDesired = otherDesired
        }
    }

    /// The canary and stable counts for this reconcile of a basic canary: the approximate weighted
    /// counts, approached within the surge and unavailability budgets.
    ///
    /// Scale-up budget = `replicas + maxSurge − Σ spec.replicas`; the stable is topped up first.
    /// While older ReplicaSets still have pods, nothing is scaled down here (they go first).
    /// Scale-down budget = available pods − (`replicas − maxUnavailable`), where the side that is
    /// meant to grow counts its spec rather than its available pods (so a crash-looping ReplicaSet
    /// cannot wedge the rollout).
    ///
    /// Argo's worked examples (canary 0, stable 10 at the start):
    /// - 10 replicas, weight 10, unavailable 1, surge 1 → canary 1, stable 9
    /// - 10 replicas, weight 30, unavailable 0, surge 3 → canary 3, stable 10
    /// - 10 replicas, weight 30, unavailable 5, surge 0 → canary 0, stable 7
    /// - 10 replicas, weight 5, unavailable 1, surge 1 → canary 1, stable 10 (1 of 11 is nearer 5%
    ///   than 1 of 10; Argo's comment still says stable 9 from before the nearest-weight rule)
    /// - 1 replica, weight 5, unavailable 0, surge 1 → canary 1, stable 1
    public static func basicCanaryCounts(_ input: BasicCanaryInput) -> (canary: Int, stable: Int) {
        let replicas = input.replicas
        var (desiredCanary, desiredStable) = approximateWeightedCounts(
            replicas: replicas, weight: input.weight, maxWeight: input.maxWeight, maxSurge: input.budgets.maxSurge)
        var canaryCount = input.canary?.desired ?? 0
        var stableCount = 0
        if let stable = input.stable {
            stableCount = stable.desired
        } else {
            // Without a distinct stable ReplicaSet there are no steps to follow: the canary takes all.
            desiredCanary = replicas
            desiredStable = 0
        }
        let maxAllowed = replicas + input.budgets.maxSurge
        let total = input.otherDesired + (input.canary?.desired ?? 0) + (input.stable?.desired ?? 0)
        var scaleUp = maxAllowed - total

        if let stable = input.stable, stable.desired < desiredStable, scaleUp > 0 {
            if stable.desired + scaleUp < desiredStable {
                stableCount = stable.desired + scaleUp
                scaleUp = 0
            } else {
                stableCount = desiredStable
                scaleUp -= desiredStable - stable.desired
            }
        }
        if let canary = input.canary, canary.desired < desiredCanary, scaleUp > 0 {
            canaryCount = min(canary.desired + scaleUp, desiredCanary)
        }
        if input.otherDesired > 0 { return (canaryCount, stableCount) }

        let minAvailable = replicas - input.budgets.maxUnavailable
        let isIncreasing = input.canary == nil || desiredCanary >= (input.canary?.desired ?? 0)
        let toScaleDown =
            replicasForScaleDown(input.canary, ignoringAvailability: !isIncreasing)
            + replicasForScaleDown(input.stable, ignoringAvailability: isIncreasing)
        guard toScaleDown > minAvailable else { return (canaryCount, stableCount) }
        let scaleDown = toScaleDown - minAvailable
        if !isIncreasing {
            canaryCount = scaledDown(input.canary, desired: desiredCanary, by: scaleDown, current: canaryCount)
            (canaryCount, stableCount) = adjustWithinLimits(
                drain: input.canary, adjust: input.stable, drainCount: canaryCount, adjustCount: stableCount,
                maxAllowed: maxAllowed, minAvailable: minAvailable)
        } else if input.stable != nil {
            stableCount = scaledDown(input.stable, desired: desiredStable, by: scaleDown, current: stableCount)
            (stableCount, canaryCount) = adjustWithinLimits(
                drain: input.stable, adjust: input.canary, drainCount: stableCount, adjustCount: canaryCount,
                maxAllowed: maxAllowed, minAvailable: minAvailable)
        }
        return (canaryCount, stableCount)
    }

    /// A ReplicaSet that already asks for fewer pods than are available counts only what it asks
    /// for, so pods about to go away are not spent twice.
    private static func replicasForScaleDown(_ count: ReplicaCount?, ignoringAvailability: Bool) -> Int {
        guard let count else { return 0 }
        if count.desired < count.available || ignoringAvailability { return count.desired }
        return count.available
    }

    private static func scaledDown(_ count: ReplicaCount?, desired: Int, by budget: Int, current: Int) -> Int {
        guard let count, count.desired > desired else { return current }
        return max(desired, count.desired - budget)
    }

    /// Keeps the pair within the surge limit by taking from the side being adjusted, then gives
    /// back what availability needs and takes the rest from the side being drained.
    private static func adjustWithinLimits(
        drain: ReplicaCount?, adjust: ReplicaCount?, drainCount: Int, adjustCount: Int, maxAllowed: Int,
        minAvailable: Int
    ) -> (drain: Int, adjust: Int) {
        var drainCount = drainCount
        var adjustCount = adjustCount
        var overLimit = max(0, adjustCount + drainCount - maxAllowed)
        var totalAvailable = 0
        if let drain { totalAvailable += min(drain.available, drainCount) }
        if let adjust {
            adjustCount -= overLimit
            totalAvailable += min(adjust.available, adjustCount)
            let lostAvailability = max(0, adjust.available - adjustCount)
            let stillNeeded = max(0, minAvailable - totalAvailable)
            adjustCount += min(lostAvailability, stillNeeded)
            overLimit = max(0, adjustCount + drainCount - maxAllowed)
            drainCount -= overLimit
        }
        return (drainCount, adjustCount)
    }

    /// Pods for a traffic weight: `ceil(weight × replicas / maxWeight)`.
    ///
    /// Example: 10 replicas at 41% → 5 canary pods (4.1 rounds up).
    public static func replicas(forTrafficWeight weight: Int, replicas: Int, maxWeight: Int = 100) -> Int {
        guard maxWeight > 0 else { return 0 }
        return (weight * replicas + maxWeight - 1) / maxWeight
    }

    /// The inputs of the traffic-routed canary calculation.
    public struct TrafficRoutedInput: Sendable, Equatable {
        /// `spec.replicas`.
        public var replicas: Int
        /// The desired canary weight (see `BasicCanaryInput.weight`).
        public var weight: Int
        /// `trafficRouting.maxTrafficWeight`, 100 by default.
        public var maxWeight: Int
        /// A `setCanaryScale.replicas` in force, which overrides the weight for the canary count.
        public var explicitCanaryReplicas: Int?
        /// `minPodsPerReplicaSet`, if set.
        public var minPodsPerReplicaSet: Int?
        /// `dynamicStableScale`.
        public var dynamicStableScale: Bool
        /// Whether the rollout is aborted (with dynamic stable scale the canary then keeps the pods
        /// its current traffic needs).
        public var isAborted: Bool
        /// The traffic weights the router has now, if known.
        public var actualCanaryWeight: Int?
        /// The stable weight the router has now, if known.
        public var actualStableWeight: Int?

        /// Makes the input; see the properties.
        public init(
            replicas: Int, weight: Int, maxWeight: Int = 100, explicitCanaryReplicas: Int? = nil,
            minPodsPerReplicaSet: Int? = nil, dynamicStableScale: Bool = false, isAborted: Bool = false,
            actualCanaryWeight: Int? = nil, actualStableWeight: Int? = nil
        ) {
            self.replicas = replicas
            self.weight = weight
            self.maxWeight = maxWeight
            self.explicitCanaryReplicas = explicitCanaryReplicas
            self.minPodsPerReplicaSet = minPodsPerReplicaSet
            self.dynamicStableScale = dynamicStableScale
            self.isAborted = isAborted
            self.actualCanaryWeight = actualCanaryWeight
            self.actualStableWeight = actualStableWeight
        }
    }

    /// The canary and stable counts of a traffic-routed canary.
    ///
    /// canary = `setCanaryScale.replicas`, else `ceil(weight × replicas / maxWeight)` raised to
    /// `minPodsPerReplicaSet` (capped at `replicas`, never raising 0). The stable stays at
    /// `replicas`, unless `dynamicStableScale`: then stable = max(pods for `maxWeight − weight`, pods
    /// for the stable weight the router has now), so the stable shrinks only after traffic left it.
    ///
    /// Example: 10 replicas at 41% → canary 5, stable 10; with `dynamicStableScale` and the router
    /// already at 41%, stable 6.
    public static func trafficRoutedCounts(_ input: TrafficRoutedInput) -> (canary: Int, stable: Int) {
        var canary =
            input.explicitCanaryReplicas
            ?? withMinimumPods(
                replicas(forTrafficWeight: input.weight, replicas: input.replicas, maxWeight: input.maxWeight), input)
        guard input.dynamicStableScale else { return (canary, input.replicas) }
        var stable = replicas(
            forTrafficWeight: input.maxWeight - input.weight, replicas: input.replicas, maxWeight: input.maxWeight)
        if let actualStable = input.actualStableWeight {
            stable = max(
                stable, replicas(forTrafficWeight: actualStable, replicas: input.replicas, maxWeight: input.maxWeight))
        }
        if input.isAborted, let actualCanary = input.actualCanaryWeight {
            canary = max(
                canary, replicas(forTrafficWeight: actualCanary, replicas: input.replicas, maxWeight: input.maxWeight))
        }
        return (withMinimumPods(canary, input), withMinimumPods(stable, input))
    }

    private static func withMinimumPods(_ count: Int, _ input: TrafficRoutedInput) -> Int {
        guard count > 0, let minimum = input.minPodsPerReplicaSet else { return count }
        return max(count, min(minimum, input.replicas))
    }

    /// Whether a ReplicaSet has enough available pods for its step to count as done, per
    /// `replicaProgressThreshold` (none: all of `desired`, and the spec must equal `desired`).
    ///
    /// Example: desired 10 with threshold 70% is met at 7 available; with `Pods: 3` at 3.
    public static func progressThresholdMet(
        _ threshold: ProgressThreshold?, replicaSet: ReplicaCount?, desired: Int
    ) -> Bool {
        guard let replicaSet else { return false }
        guard let threshold, threshold.value >= 0 else {
            return replicaSet.desired == desired && replicaSet.available == desired
        }
        switch threshold {
        case .percent(let percent):
            if desired == 0 { return true }
            return replicaSet.available * 100 >= percent * desired
        case .pods(let pods):
            return replicaSet.available >= pods
        }
    }

    /// `replicaProgressThreshold`: a percentage of the desired pods or a number of pods.
    public enum ProgressThreshold: Sendable, Equatable {
        /// `type: Percent`.
        case percent(Int)
        /// `type: Pods`.
        case pods(Int)

        var value: Int {
            switch self {
            case .percent(let value), .pods(let value): return value
            }
        }
    }
}
