import Foundation
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
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--no-router"])
        do {
            let invalid = try #require(
                await daemon.call(
                    .POST, "/api/v1/apply",
                    body: Data(
                        """
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
                        """.utf8)))
            #expect((400..<500).contains(invalid.status), "invalid manifest: \(invalid.text)")
            #expect(!(invalid.json["error"] as? String ?? "").isEmpty)
            #expect(!(invalid.json["diagnostics"] as? [String] ?? []).isEmpty)

            let malformed = try #require(
                await daemon.call(.POST, "/api/v1/apply", body: Data(#"{"apiVersion": "v1", "kind": "Service", "#.utf8))
            )
            #expect((400..<500).contains(malformed.status), "malformed JSON: \(malformed.text)")

            let empty = try #require(await daemon.call(.POST, "/api/v1/apply", body: Data()))
            #expect(empty.status == 400)

            let huge = Data(repeating: UInt8(ascii: "a"), count: 20 * 1024 * 1024)
            let tooLarge = try #require(await daemon.call(.POST, "/api/v1/apply", body: huge))
            #expect(tooLarge.status == 413, "20 MB body: \(tooLarge.text)")
            #expect((tooLarge.json["error"] as? String ?? "").contains("MiB"))

            let unknown = try #require(await daemon.call(.GET, "/api/v1/rollouts/nope"))
            #expect(unknown.status == 404)
            #expect((unknown.json["error"] as? String ?? "").contains("nope"))
            let promoteUnknown = try #require(await daemon.call(.POST, "/api/v1/rollouts/nope/promote"))
            #expect(promoteUnknown.status == 404)
            let unknownKind = try #require(await daemon.call(.GET, "/api/v1/widgets"))
            #expect(unknownKind.status == 404)
            let badImage = try #require(
                await daemon.call(.POST, "/api/v1/rollouts/nope/image", body: Data("not json".utf8)))
            #expect(badImage.status == 400)

            for kind in ["rollouts", "services"] {
                let list = try #require(await daemon.call(.GET, "/api/v1/\(kind)"))
                #expect((list.json["items"] as? [Any])?.isEmpty == true, "\(kind) must stay empty")
            }

            let good = try #require(await daemon.call(.POST, "/api/v1/apply", body: Data(sampleService.utf8)))
            #expect(good.status == 200, "\(good.text)")
            let service = try #require(await daemon.call(.GET, "/api/v1/services/web"))
            #expect(service.status == 200)
            #expect(((service.json["metadata"] as? [String: Any])?["generation"] as? Int) == 1)
            let watch = try #require(await daemon.call(.GET, "/api/v1/watch/services/web?timeoutSeconds=1"))
            #expect(watch.status == 200)
            let lines = watch.text.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("\"web\""))
            let metrics = try #require(await daemon.call(.GET, "/metrics"))
            #expect(metrics.text.contains("rollout_reconcile_count"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
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
                key: ResourceKey(kind: "Rollout", name: "r\(index)"), apiVersion: "argoproj.io/v1alpha1",
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
