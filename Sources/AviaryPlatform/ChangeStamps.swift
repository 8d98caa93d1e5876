/// A platform's change stamps (`PlatformObservation.changeStamp(ofRollout:namespace:)`): each
/// change takes the next value of one counter, so a stamp read later is higher whenever anything it
/// covers changed. A rollout's stamp covers its ReplicaSets and pods and every Service and split (a
/// rollout reads several of them by name); a Service's covers that Service.
public struct ChangeStamps: Sendable {
    private var last = 0
    /// The last change of a rollout's ReplicaSets or pods, by `namespace/rollout`.
    private var rollouts: [String: Int] = [:]
    /// The last change of any Service or split.
    private var routing = 0
    /// The last change of each Service, by the platform's key for it.
    private var services: [String: Int] = [:]

    /// No change seen yet.
    public init() {}

    /// One of the rollout's (`namespace/rollout`) ReplicaSets or pods changed.
    public mutating func rolloutChanged(_ key: String) {
        last += 1
        rollouts[key] = last
    }

    /// A split (or any routing object) changed.
    public mutating func routingChanged() {
        last += 1
        routing = last
    }

    /// The Service changed.
    public mutating func serviceChanged(_ key: String) {
        routingChanged()
        services[key] = last
    }

    /// The Service is gone: it has no stamp, and every rollout's moves.
    public mutating func serviceRemoved(_ key: String) {
        routingChanged()
        services.removeValue(forKey: key)
    }

    /// The stamp of the rollout `namespace/rollout`.
    public func rollout(_ key: String) -> Int { max(rollouts[key] ?? 0, routing) }

    /// The stamp of a Service; nil for one never seen or removed.
    public func service(_ key: String) -> Int? { services[key] }
}
