import AsyncHTTPClient

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
