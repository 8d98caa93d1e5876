import AsyncHTTPClient
import AviaryRoutes
import AviaryTestSupport

@testable import AviaryRouter

/// Runs `body` with an HTTP client that keeps up to `connectionsPerHost` connections to one
/// host, shutting the client down afterwards either way.
func withClient(connectionsPerHost: Int = 16, _ body: (HTTPClient) async throws -> Void) async throws {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// Runs `body` with an in-process router serving the route table `yaml`, shut down afterwards
/// either way.
func withRouter(_ yaml: String, _ body: (RouterServer) async throws -> Void) async throws {
    let router = try await RouterServer()
    do {
        try await router.apply(try RouteTable.decode(yaml, source: "test table"), source: "test table")
        try await body(router)
    } catch {
        await router.shutdown()
        throw error
    }
    await router.shutdown()
}

/// Runs `body` with one sample-app pod (`app-1`) behind an in-process router that sends every
/// request on a free port to it, with `limits` (a YAML flow mapping) when given; the client,
/// pod and router are stopped afterwards either way.
func withAppBehindRouter(
    connectionsPerHost: Int = 16, limits: String? = nil,
    _ body: (_ client: HTTPClient, _ app: SampleApp, _ port: Int, _ router: RouterServer) async throws -> Void
) async throws {
    try await withClient(connectionsPerHost: connectionsPerHost) { client in
        let app = try await SampleApp(pod: "app-1", client: client)
        defer { app.stop() }
        let port = try freePort()
        let table = """
            services: {app: {endpoints: ["\(app.endpoint)"]}}
            listeners: [{address: "127.0.0.1:\(port)", routes: [{backends: [{service: app}]}]}]
            """
        try await withRouter(table + (limits.map { "\nlimits: \($0)" } ?? "")) { router in
            try await body(client, app, port, router)
        }
    }
}
