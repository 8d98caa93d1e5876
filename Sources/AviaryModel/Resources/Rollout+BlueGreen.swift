/// The blue-green strategy: the new version runs beside the old behind a preview Service and
/// takes the active Service at once on promotion.
public struct BlueGreenStrategy: Codable, Sendable, Hashable {
    /// The Service that receives production traffic (required).
    public var activeService: String
    /// The Service pointed at the new version before promotion.
    public var previewService: String?
    /// Pods of the new version before promotion (default: `replicas`).
    public var previewReplicaCount: Int?
    /// Promote without a manual step (default true).
    public var autoPromotionEnabled: Bool?
    /// Promote automatically this many seconds after the new version is ready.
    public var autoPromotionSeconds: Int?
    /// Pods that may be unavailable during the update.
    public var maxUnavailable: IntOrString?
    /// Seconds before the old version is scaled down after promotion (default 30).
    public var scaleDownDelaySeconds: Int?
    /// Old ReplicaSets left running during their scale-down delay.
    public var scaleDownDelayRevisionLimit: Int?
    /// Analysis before the active Service switches.
    public var prePromotionAnalysis: RolloutAnalysis?
    /// Analysis after the active Service switches.
    public var postPromotionAnalysis: RolloutAnalysis?
    /// Anti-affinity between old and new pods, kept opaque.
    public var antiAffinity: AntiAffinity?
    /// Labels and annotations added to preview pods.
    public var previewMetadata: PodMetadata?
    /// Labels and annotations added to active pods.
    public var activeMetadata: PodMetadata?
    /// Seconds before an aborted preview is scaled down (default 30; 0 = never).
    public var abortScaleDownDelaySeconds: Int?

    /// A blue-green strategy switching `activeService`.
    public init(activeService: String, previewService: String? = nil, autoPromotionEnabled: Bool? = nil) {
        self.activeService = activeService
        self.previewService = previewService
        self.autoPromotionEnabled = autoPromotionEnabled
    }

    /// Whether promotion is automatic, true when absent.
    public var autoPromotionEnabledOrDefault: Bool { autoPromotionEnabled ?? true }
    /// Seconds before the old version is scaled down, 30 when absent.
    public var scaleDownDelaySecondsOrDefault: Int { scaleDownDelaySeconds ?? 30 }
    /// Seconds before an aborted preview is scaled down, 30 when absent (0 means never).
    public var abortScaleDownDelaySecondsOrDefault: Int { abortScaleDownDelaySeconds ?? 30 }
    /// Pods that may be unavailable at once, 25% when absent, as Argo's `GetMaxUnavailableOrDefault`
    /// gives it for either strategy. Blue-green uses it only for `restartAt`: how many pods are
    /// replaced at a time (at least 1).
    public var maxUnavailableOrDefault: IntOrString { maxUnavailable ?? .string("25%") }
    /// Preview pods for a Rollout of `replicas` pods.
    public func previewReplicaCountOrDefault(replicas: Int) -> Int { previewReplicaCount ?? replicas }
}
