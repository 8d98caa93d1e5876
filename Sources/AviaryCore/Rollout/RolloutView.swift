import AviaryModel
import Foundation

/// The rollout's spec reduced to what the reconciler decides with, defaults applied. Built from the
/// model once per reconcile (see `Rollout+View.swift`), so the decisions read plain values.
struct RolloutView {
    var name: String
    var generation: Int?
    var replicas: Int
    var template: PodTemplateSpec
    var templateHash: String
    var revisionHistoryLimit: Int
    var successfulRunHistoryLimit: Int
    var unsuccessfulRunHistoryLimit: Int
    var isPaused: Bool
    var progressDeadlineSeconds: Int
    var progressDeadlineAbort: Bool
    var restartAt: Date?
    /// `spec.selector.matchLabels`: an experiment template selects its pods with them.
    var selectorLabels: [String: String]
    /// `spec.minReadySeconds`.
    var minReadySeconds: Int
    /// `spec.rollbackWindow.revisions`: an update back to one of the newest this many ReplicaSets
    /// skips the steps (nil or 0: none does).
    var rollbackWindow: Int?
    var strategy: Strategy
    /// Set when the spec cannot be run: the reconcile only reports it.
    var invalidSpecMessage: String?

    enum Strategy {
        case canary(CanaryView)
        case blueGreen(BlueGreenView)
    }

    var stepsHash: String? {
        if case .canary(let canary) = strategy { return canary.stepsHash }
        return nil
    }
}

struct CanaryView {
    var canaryService: String?
    var stableService: String?
    /// `pingPong`: two Services that swap the stable and canary roles at each promotion.
    var pingPong: PingPongSpec?
    /// Whether the router splits between the ping and pong Services (`CanaryStrategy.splitsPingPong`).
    var splitsPingPong: Bool
    var budgets: RolloutBudgets
    var steps: [StepView]
    var stepsHash: String
    var background: AnalysisView?
    var backgroundStartingStep: Int?
    var routing: RoutingView?
    var scaleDownDelaySeconds: Int
    /// `scaleDownDelayRevisionLimit`: how many older ReplicaSets may wait out the delay (nil: all).
    var scaleDownDelayRevisionLimit: Int?
    var abortScaleDownDelaySeconds: Int
    var dynamicStableScale: Bool
    var minPodsPerReplicaSet: Int?
    var progressThreshold: CanaryReplicaMath.ProgressThreshold?

    var maxWeight: Int { routing?.maxWeight ?? 100 }
}

struct RoutingView {
    var maxWeight: Int
    /// Whether a `setWeight` step waits while the router says its weights are not in place
    /// (`status.canary.weights.verified: false`), as Argo's ALB check and Contour plugin make it wait.
    var waitsForVerifiedWeights = false
}

enum StepView {
    case setWeight(Int)
    case pause(seconds: Double?)
    case setCanaryScale(replicas: Int?, weight: Int?, matchTrafficWeight: Bool)
    case analysis(AnalysisView)
    case experiment(RolloutExperimentStep)
    case setHeaderRoute(SetHeaderRoute)
    case setMirrorRoute(SetMirrorRoute)
    case plugin(PluginStep)

    /// How Argo names the step in events: `setWeight: 20`, `pause: 30s`, `pause`, ...
    var summary: String {
        switch self {
        case .setWeight(let weight): return "setWeight: \(weight)"
        case .pause(let seconds?): return "pause: \(DurationText.format(seconds))"
        case .pause(nil): return "pause"
        case .setCanaryScale(let replicas?, _, _): return "setCanaryScale: replicas \(replicas)"
        case .setCanaryScale(nil, let weight?, _): return "setCanaryScale: weight \(weight)"
        case .setCanaryScale: return "setCanaryScale: matchTrafficWeight"
        case .analysis: return "analysis"
        case .experiment(let step):
            // The templates, what each clones and its share of traffic: `experiment 5m: baseline
            // (stable, 10%), canary (canary, 10%)`.
            let templates = step.templates.map { template in
                "\(template.name) (\(template.specRef)" + (template.weight.map { ", \($0)%" } ?? "") + ")"
            }
            let duration = step.duration.flatMap { $0.seconds.isFinite ? " \(DurationText.format($0.seconds))" : nil }
            return "experiment\(duration ?? ""): " + templates.joined(separator: ", ")
        case .setHeaderRoute(let route): return "setHeaderRoute: \(route.name)"
        case .setMirrorRoute(let route): return "setMirrorRoute: \(route.name)"
        case .plugin(let plugin): return "plugin: \(plugin.name)"
        }
    }
}

struct AnalysisView {
    var templates: [RolloutAnalysisTemplate]
    var args: [AnalysisRunArgument]
    var dryRun: [DryRun]?
    var measurementRetention: [MeasurementRetention]?
    /// `analysisRunMetadata`: labels and annotations the run gets.
    var metadata: AnalysisRunMetadata?
}

struct BlueGreenView {
    var activeService: String
    var previewService: String?
    var previewReplicaCount: Int?
    var autoPromotionEnabled: Bool
    var autoPromotionSeconds: Int?
    var scaleDownDelaySeconds: Int
    /// `scaleDownDelayRevisionLimit`: how many older ReplicaSets may wait out the delay (nil: all).
    var scaleDownDelayRevisionLimit: Int?
    var abortScaleDownDelaySeconds: Int
    /// `maxUnavailable` resolved against the replicas (rounded down, at most all of them).
    var maxUnavailable: Int
    var prePromotion: AnalysisView?
    var postPromotion: AnalysisView?

    /// Whether the new version waits for a person (or the auto-promotion timer) before cut-over.
    var pausesBeforePromotion: Bool { !autoPromotionEnabled || autoPromotionSeconds != nil }
}

/// The status fields the reconciler reads and writes, as plain values (see `Rollout+View.swift`).
struct StatusView: Equatable {
    struct PauseCondition: Equatable {
        var reason: String
        var startTime: Date
    }

    struct RunReference: Equatable {
        var name: String
        var phase: AnalysisPhase
        var message: String?
    }

    struct Condition: Equatable {
        var type: String
        /// `True`, `False` or `Unknown`.
        var status: String
        var reason: String
        var message: String
        var lastUpdateTime: Date
        var lastTransitionTime: Date
    }

    var abort = false
    var abortedAt: Date?
    var pauseConditions: [PauseCondition] = []
    var controllerPause = false
    var promoteFull = false
    var currentPodHash: String?
    var currentStepHash: String?
    var currentStepIndex: Int?
    var stableRS: String?
    /// `status.canary.stablePingPong`: `ping` or `pong`, the ping-pong Service of the stable pods.
    var stablePingPong: String?
    var replicas = 0
    var updatedReplicas = 0
    var readyReplicas = 0
    var availableReplicas = 0
    var observedGeneration: String?
    var restartedAt: Date?
    var phase: String = "Progressing"
    var message: String = ""
    var conditions: [Condition] = []
    var stepRun: RunReference?
    var backgroundRun: RunReference?
    /// `status.canary.currentExperiment`: the experiment of the current step while it runs.
    var currentExperiment: String?
    /// `status.canary.stepPluginStatuses`, as the controller's step plugin calls left them before
    /// this reconcile (read only: the statuses pass through to the written status unchanged).
    var stepPlugins: [StepPluginStatus] = []
    /// `status.canary.weights.additional`: the running experiment's templates with a weight.
    var additionalWeights: [WeightDestination] = []
    var preRun: RunReference?
    var postRun: RunReference?
    var activeSelector: String?
    var previewSelector: String?
    var canaryWeight: Int?
    var stableWeight: Int?
    /// `status.canary.weights.verified`: what the router last said of the weights (nil: it cannot say).
    var weightsVerified: Bool?
    /// `status.duration`: when the current update started, when it ended and how.
    var rolloutStartedAt: Date?
    var finishedAt: Date?
    var completionStatus: CompletionStatus?

    /// Ends the current update's duration with `completion`.
    mutating func finish(_ completion: CompletionStatus, at now: Date) {
        finishedAt = now
        completionStatus = completion
    }

    func pauseCondition(_ reason: String) -> PauseCondition? {
        pauseConditions.first { $0.reason == reason }
    }

    func condition(_ type: String) -> Condition? {
        conditions.first { $0.type == type }
    }

    /// The fields whose change means the rollout moved on, so it is looked at again at once.
    var decisionFields: [String?] {
        [
            String(abort), String(controllerPause), String(promoteFull), currentPodHash, currentStepHash,
            currentStepIndex.map(String.init), stableRS, stablePingPong, activeSelector, currentExperiment,
            pauseConditions.map(\.reason).joined(separator: ","),
        ] + [stepRun, backgroundRun, preRun, postRun].map { run in run.map { "\($0.name) \($0.phase.rawValue)" } }
    }
}

/// Durations as Argo prints them in step summaries: `30s`, `5m`, `1h30m`.
enum DurationText {
    static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        var remaining = Int(seconds.rounded())
        var text = ""
        if remaining >= 3600 {
            text += "\(remaining / 3600)h"
            remaining %= 3600
        }
        if remaining >= 60 {
            text += "\(remaining / 60)m"
            remaining %= 60
        }
        if remaining > 0 || text.isEmpty { text += "\(remaining)s" }
        return text
    }
}

extension CanaryView {
    /// The Services the router splits between under `status` (the ping-pong sides it names, or
    /// `canaryService` and `stableService`): the names `status.canary.weights` reports.
    func splitServices(_ status: StatusView) -> (canary: String?, stable: String?) {
        if splitsPingPong, let sides = pingPong?.sides(stablePingPong: status.stablePingPong) {
            return (sides.canary, sides.stable)
        }
        return (canaryService, stableService)
    }
}
