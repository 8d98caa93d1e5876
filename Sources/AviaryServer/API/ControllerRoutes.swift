import AviaryPlatform
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Where a controller on a cluster stands, for `/healthz`, `/readyz` and its log.
public enum ControllerStanding: Int, Sendable, CaseIterable {
    /// The informers have not listed yet: nothing is known, nothing is reconciled.
    case syncing
    /// The caches are warm; another replica holds the Lease.
    case standby
    /// This replica holds the Lease and reconciles.
    case leading

    /// `/healthz`'s and `/readyz`'s body.
    public var line: String {
        switch self {
        case .syncing: "syncing: the informers have not listed everything yet\n"
        case .standby: "ok: standby (another replica holds the lease)\n"
        case .leading: "ok: leading\n"
        }
    }

    /// `/readyz`: ready once the caches are warm, leading or not (a standby takes over at once).
    public var isReady: Bool { self != .syncing }
}

/// The standing a controller's HTTP endpoints read and its loops write.
public final class ControllerHealth: Sendable {
    private let value = Atomic<Int>(ControllerStanding.syncing.rawValue)

    /// Starts at `.syncing`.
    public init() {}

    /// The standing now.
    public var standing: ControllerStanding {
        ControllerStanding(rawValue: value.load(ordering: .acquiring)) ?? .syncing
    }

    /// Records a new standing.
    public func set(_ standing: ControllerStanding) { value.store(standing.rawValue, ordering: .releasing) }
}

/// A `text/plain` response.
func textResponse(_ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain") -> Response {
    Response(
        status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

/// `GET /metrics` in Prometheus' text format.
func metricsResponse(_ metrics: DaemonMetrics, dataPlane: (any DataPlane)? = nil) async -> Response {
    let dataPlaneText = await dataPlane?.metricsText() ?? ""
    return textResponse(.ok, await metrics.render() + dataPlaneText, contentType: "text/plain; version=0.0.4")
}

/// The HTTP endpoints of `aviary serve --platform kubernetes`, for the kubelet's probes, for
/// Prometheus and for clients of the daemon's API:
/// - `GET /healthz`: 200 while the process serves (liveness), with its standing in the body
/// - `GET /readyz`: 200 once the informers have listed, 503 before (readiness)
/// - `GET /metrics`: the controller's metrics, Argo's names, and `aviary_controller_leader`
/// - with `api`, the daemon's resource API read from the informers (`ClusterAPI`)
func makeControllerRouter(
    health: ControllerHealth, metrics: DaemonMetrics, token: String?, dashboard: Dashboard? = nil,
    api: ClusterAPI? = nil
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let dashboardOn = dashboard.map { $0.mode != .off } ?? false
    router.add(
        middleware: NoSniffMiddleware(
            served: "/healthz, /readyz, /metrics" + (api == nil ? "" : " and /api/v1/... (reads and rollout operations)")
                + (dashboardOn ? ", and the dashboard at /" : "")))
    if let token {
        router.add(
            middleware: BearerTokenMiddleware(
                token: token, exempt: { path in dashboardOn && Dashboard.isDashboardPath(path) }))
    }
    dashboard?.addRoutes(to: router)
    router.get("/healthz") { _, _ in textResponse(.ok, health.standing.line) }
    router.get("/readyz") { _, _ in
        let standing = health.standing
        return textResponse(standing.isReady ? .ok : .serviceUnavailable, standing.line)
    }
    router.get("/metrics") { _, _ in await metricsResponse(metrics) }
    api?.addRoutes(to: router)
    return router
}
