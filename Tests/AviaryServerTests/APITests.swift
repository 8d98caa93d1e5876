import AviaryAPI
import AviaryJSON
import AviaryLocal
import AviaryModel
import AviaryTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import AviaryServer
@testable import AviaryStore

let sampleService = """
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      selector:
        app: web
      ports:
        - port: 8080
          targetPort: http
    """

@Suite struct ConfigurationTests {
    @Test(arguments: [
        ("127.0.0.1:7480", "127.0.0.1", 7480), (":9000", "127.0.0.1", 9000), ("[::1]:80", "::1", 80),
        ("0.0.0.0:7480", "0.0.0.0", 7480),
    ])
    func listenAddresses(text: String, host: String, port: Int) throws {
        let parsed = try ServerConfiguration.parseListen(text)
        #expect(parsed.host == host && parsed.port == port)
    }

    @Test(arguments: ["7480", "127.0.0.1:99999", "127.0.0.1:http"])
    func badListenAddresses(text: String) {
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.parseListen(text) }
    }

    @Test func offLoopbackNeedsAToken() throws {
        #expect(throws: ServerConfiguration.Invalid.self) {
            try ServerConfiguration(host: "0.0.0.0").validate()
        }
        try ServerConfiguration(host: "0.0.0.0", token: "secret").validate()
        try ServerConfiguration(host: "127.0.0.1").validate()
        try ServerConfiguration(host: "::1").validate()
    }
}

@Suite(.serialized) struct APITests {
    @Test func badInputGetsA4xxAndStoresNothing() async throws {
        try await withRoutesInProcess { api in
            let invalid = try await api.call(
                .post, "/api/v1/apply",
                body: """
                    apiVersion: argoproj.io/v1alpha1
                    kind: Rollout
                    metadata:
                      name: broken
                    spec:
                      replicas: many
                      strategy:
                        canary:
                          steps:
                            - setWeight: 25
                    ---
                    \(sampleService)
                    """)
            #expect((400..<500).contains(invalid.status), "invalid manifest: \(invalid.text)")
            let invalidBody = try invalid.decode(ErrorBody.self)
            #expect(!invalidBody.error.isEmpty && invalidBody.diagnostics?.isEmpty == false)

            let malformed = try await api.call(
                .post, "/api/v1/apply", body: #"{"apiVersion": "v1", "kind": "Service", "#)
            #expect((400..<500).contains(malformed.status), "malformed JSON: \(malformed.text)")

            #expect(try await api.call(.post, "/api/v1/apply", body: "").status == 400)

            let tooLarge = try await api.call(.post, "/api/v1/apply", body: String(repeating: "a", count: 20 << 20))
            #expect(tooLarge.status == 413, "20 MB body: \(tooLarge.text)")
            #expect(try tooLarge.decode(ErrorBody.self).error.contains("MiB"))

            let unknown = try await api.call(.get, "/api/v1/rollouts/nope")
            #expect(unknown.status == 404)
            #expect(try unknown.decode(ErrorBody.self).error.contains("nope"))
            #expect(try await api.call(.post, "/api/v1/rollouts/nope/promote").status == 404)
            #expect(try await api.call(.get, "/api/v1/widgets").status == 404)
            #expect(try await api.call(.post, "/api/v1/rollouts/nope/image", body: "not json").status == 400)

            for kind in ["rollouts", "services"] {
                let list = try await api.call(.get, "/api/v1/\(kind)")
                #expect(try list.decode(ItemList<JSONValue>.self).items.isEmpty, "\(kind) must stay empty")
            }

            let good = try await api.call(.post, "/api/v1/apply", body: sampleService)
            #expect(good.status == 200, "\(good.text)")
            let applied = try good.decode(ApplyResult.self).applied
            #expect(
                applied == [
                    .init(kind: "Service", namespace: "default", name: "web", outcome: "created", generation: 1)
                ])
            let service = try await api.call(.get, "/api/v1/services/web")
            #expect(service.status == 200)
            #expect(try service.decode(AviaryModel.Service.self).metadata.generation == 1)
            let watch = try await api.call(.get, "/api/v1/watch/services/web?timeoutSeconds=1")
            #expect(watch.status == 200)
            let lines = watch.text.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("\"web\""))
            #expect(try await api.call(.get, "/metrics").text.contains("rollout_reconcile_count"))
        }
    }

    /// Every kind Aviary stores has its URL name, a workload a Rollout's workloadRef names
    /// included: read, deleted, and named in the 404 of a kind it does not know.
    @Test func aStoredReplicaSetIsReadAndDeletedByItsURLName() async throws {
        try await withRoutesInProcess { api in
            let replicaSet = """
                apiVersion: apps/v1
                kind: ReplicaSet
                metadata: {name: legacy}
                spec:
                  replicas: 2
                  selector: {matchLabels: {app: legacy}}
                  template:
                    metadata: {labels: {app: legacy}}
                    spec: {containers: [{name: app, image: "legacy:v1"}]}
                """
            let applied = try await api.call(.post, "/api/v1/apply", body: replicaSet)
            #expect(applied.status == 200, "\(applied.text)")
            let read = try await api.call(.get, "/api/v1/replicaset/legacy")
            #expect(read.status == 200, "\(read.text)")
            #expect(read.text.contains("\"kind\":\"ReplicaSet\"") && read.text.contains("legacy:v1"))
            #expect(try await api.call(.delete, "/api/v1/replicasets/legacy").status == 200)
            #expect(try await api.call(.get, "/api/v1/replicasets/legacy").status == 404)
            let unknown = try await api.call(.get, "/api/v1/widgets/x")
            #expect(unknown.status == 404)
            #expect(unknown.text.contains("replicasets") && unknown.text.contains("clusteranalysistemplates"))
        }
    }

    @Test func offLoopbackWithoutATokenIsRefused() throws {
        let daemon = Daemon()
        defer { try? FileManager.default.removeItem(atPath: daemon.stateDirectory) }
        let result = try runCommand([
            daemon.aviary, "serve", "--state-dir", daemon.stateDirectory, "--listen", "0.0.0.0:\(daemon.port)",
        ])
        #expect(result.status != 0)
        #expect(result.output.contains("--token"))
    }

    @Test func withATokenEveryRequestNeedsIt() async throws {
        let daemon = Daemon(token: "s3cret")
        try await daemon.start(extraArguments: ["--no-router"])
        do {
            let anonymous = try #require(await http(.GET, daemon.base + "/healthz"))
            #expect(anonymous.status == 401)
            let wrong = try #require(
                await http(.GET, daemon.base + "/api/v1/rollouts", headers: [("Authorization", "Bearer nope")]))
            #expect(wrong.status == 401)
            let right = try #require(await daemon.call(.GET, "/api/v1/rollouts"))
            #expect(right.status == 200)
            let cli = try daemon.cli(["get", "rollout", "missing"])
            #expect(cli.status != 0 && cli.output.contains("missing"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}

@Suite struct ListBodyTests {
    /// The listing written from the stored JSON means what `{"items": [object()...]}` means, and
    /// keeps `<`, `>` and `&` out of the bytes as `jsonResponse` does.
    @Test(arguments: [0, 1, 3])
    func listingMeansTheObjectsAndEscapesMarkup(count: Int) throws {
        let resources = (0..<count).map { index in
            StoredResource(
                key: ResourceKey(kind: .rollout, name: "r\(index)"), apiVersion: "argoproj.io/v1alpha1",
                generation: index + 1, resourceVersion: 10 + index,
                metadata: Data(#"{"labels":{"note":"<script>&"},"name":"r\#(index)"}"#.utf8),
                spec: Data(#"{"replicas":\#(index)}"#.utf8),
                status: index == 0 ? nil : Data(#"{"message":"a > b","phase":"Healthy"}"#.utf8),
                createdAt: "2026-01-01T00:00:00Z")
        }
        let body = listBody(resources)
        let bytes = Data(body.readableBytesView)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("<") && !text.contains(">") && !text.contains("&"), "\(text)")
        let parsed = try JSONSerialization.jsonObject(with: bytes) as? NSDictionary
        #expect(parsed == (["items": resources.map { $0.object() }] as NSDictionary))
    }
}

/// An answer of the routes served in process.
struct RouteAnswer {
    var status: Int
    var headers: HTTPFields
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var contentType: String? { headers[.contentType] }
    /// Whether the answer forbids content sniffing.
    var noSniff: Bool { headers[.xContentTypeOptions] == "nosniff" }

    /// The body as one of the API's wire types.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try APIJSON.decoder().decode(type, from: body)
    }
}

/// A client of the routes served in process.
struct InProcessAPI {
    let client: any TestClientProtocol

    func call(_ method: HTTPRequest.Method, _ path: String, body: String? = nil) async throws -> RouteAnswer {
        let response = try await client.execute(uri: path, method: method, body: body.map { ByteBuffer(string: $0) })
        return RouteAnswer(
            status: Int(response.status.code), headers: response.headers, body: Data(response.body.readableBytesView))
    }
}

/// Runs `body` against the API's routes over a store in a temporary directory and the simulated
/// platform, served in process by HummingbirdTesting: no daemon, no socket.
func withRoutesInProcess(
    token: String? = nil, _ body: @escaping @Sendable (InProcessAPI) async throws -> Void
)
    async throws
{
    let directory = NSTemporaryDirectory() + "aviary-routes-test-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try AviaryStore(stateDirectory: directory)
    let routes = RouteContext(
        resources: ResourceAPI(store: store, changed: { _ in }),
        operations: RolloutOperations(store: store, changed: { _ in }), platform: SimulatedPlatform(),
        metrics: DaemonMetrics(), store: store,
        census: { MemoryCensus(storeRows: try store.rowCounts(), cacheEntries: [:], heap: nil) })
    try await Application(router: makeRouter(routes, token: token)).test(.router) { client in
        try await body(InProcessAPI(client: client))
    }
}
