import AviaryMeta
import Foundation

/// A `coordination.k8s.io/v1` Lease: the lock object of leader election.
public struct Lease: Codable, Sendable, Hashable {
    /// The resource address of Leases.
    public static let resource = GroupVersionResource(group: "coordination.k8s.io", version: "v1", resource: "leases")

    /// Always `coordination.k8s.io/v1`.
    public var apiVersion: String = "coordination.k8s.io/v1"
    /// Always `Lease`.
    public var kind: String = "Lease"
    /// The metadata.
    public var metadata: ObjectMeta
    /// The holder's record.
    public var spec: LeaseSpec

    /// A Lease.
    public init(metadata: ObjectMeta, spec: LeaseSpec = LeaseSpec()) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `Lease.spec`.
public struct LeaseSpec: Codable, Sendable, Hashable {
    /// The identity of the holder; nil or empty when nobody holds the lease.
    public var holderIdentity: String?
    /// How long, after `renewTime`, candidates wait before taking the lease over.
    public var leaseDurationSeconds: Int?
    /// When the current holder acquired the lease (MicroTime, RFC 3339 with microseconds).
    public var acquireTime: String?
    /// When the holder last renewed the lease (MicroTime).
    public var renewTime: String?
    /// How many times the lease changed hands.
    public var leaseTransitions: Int?

    /// A lease spec.
    public init(
        holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil,
        renewTime: String? = nil, leaseTransitions: Int? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}

/// Kubernetes `MicroTime`: RFC 3339 in UTC with six fractional digits, `2026-12-02T03:10:00.123456Z`.
public enum MicroTime {
    /// Formats `date`.
    public static func string(from date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: seconds))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.year!, parts.month!, parts.day!, parts.hour!,
            parts.minute!, parts.second!, micros)
    }
}
