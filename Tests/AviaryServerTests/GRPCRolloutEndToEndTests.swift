import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryLocal

/// The gRPC peer script of the router's tests.
private let grpcPeer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("AviaryRouterTests/grpc_peer.py").path

/// Whether grpcio can be imported (scripts/test installs it); required under CI.
private let grpcIsRequired =
    (try? runCommand(["/usr/bin/env", "python3", "-c", "import grpc"]).status) == 0
    || ProcessInfo.processInfo.environment["CI"] != nil

/// A canary of a gRPC service on the local platform: its pods are the grpcio server, its
/// Services' ports are named `grpc`, so the router speaks HTTP/2 to the pods and splits the
/// calls of one client connection by the canary weight.
@Suite(.serialized, .enabled(if: grpcIsRequired, "the Python grpcio package is not installed: pip install grpcio"))
struct GRPCRolloutEndToEndTests {
    private struct Calls: Decodable {
        let names: [String]
        let unary: String
        let trailer: String?
        let fail: [String]?
    }

    @Test func aGRPCServiceCanariesByCallAndPromotes() async throws {
        let ports = (root: PortAllocator.freePort() ?? 0, canary: PortAllocator.freePort() ?? 0,
                     stable: PortAllocator.freePort() ?? 0)
        func service(_ name: String, _ port: Int) -> String {
            """
            apiVersion: v1
            kind: Service
            metadata:
              name: \(name)
            spec:
              selector:
                app: echo
              ports:
                - name: grpc
                  port: \(port)
                  targetPort: grpc
            """
        }
        let yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: echo
            spec:
              replicas: 2
              selector:
                matchLabels:
                  app: echo
              template:
                metadata:
                  labels:
                    app: echo
                spec:
                  containers:
                    - name: echo
                      image: echo:blue
                      command: ["/bin/sh", "-c", "exec python3 \(grpcPeer) server $PORT $IMAGE_TAG"]
                      ports:
                        - name: grpc
                          containerPort: 50051
              strategy:
                canary:
                  canaryService: echo-canary
                  stableService: echo-stable
                  scaleDownDelaySeconds: 1
                  trafficRouting:
                    smi:
                      rootService: echo
                  steps:
                    - setWeight: 50
                    - pause: {}
            ---
            \(service("echo", ports.root))
            ---
            \(service("echo-canary", ports.canary))
            ---
            \(service("echo-stable", ports.stable))
            """
        let daemon = Daemon()
        try await daemon.start()
        do {
            let file = daemon.stateDirectory + "/echo.yaml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let applied = try daemon.cli(["apply", "-f", file])
            try #require(applied.status == 0, "\(applied.output)")

            func calls(_ count: Int) throws -> Calls? {
                let result = try runCommand([
                    "/usr/bin/env", "python3", grpcPeer, "client", "127.0.0.1:\(ports.root)", String(count),
                ])
                guard result.status == 0, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") })
                else { return nil }
                return try JSONDecoder().decode(Calls.self, from: Data(line.utf8))
            }
            // The pods have no readiness probe: ready once started, serving a moment later.
            #expect(
                await eventually(within: 90) { (try? calls(4))?.names == ["blue", "blue", "blue", "blue"] },
                "every call reaches blue before the update")
            #expect(try daemon.cli(["set", "image", "echo", "echo=echo:green"]).status == 0)
            #expect(
                await eventually(within: 90) {
                    let status = (await daemon.call(.GET, "/api/v1/rollouts/echo"))?.json["status"] as? [String: Any]
                    return status?["phase"] as? String == "Paused" && status?["currentStepIndex"] as? Int == 1
                })
            // Canary pods may still be starting when the step is reached: wait for them to answer.
            var split: Calls?
            #expect(
                await eventually(within: 60) {
                    split = try? calls(40)
                    return Set(split?.names ?? []) == ["blue", "green"]
                }, "one connection's calls split between the versions: \(String(describing: split?.names))")
            if let split {
                let counts = Dictionary(grouping: split.names, by: { $0 }).mapValues(\.count)
                #expect(counts["green"] == 20, "50% of calls: \(counts)")
                #expect(split.unary.hasPrefix((split.trailer ?? "?") + ":"), "trailers pass: \(split)")
                #expect(split.fail == ["NOT_FOUND", "no such thing: widget"], "statuses pass: \(split)")
            }
            #expect(try daemon.cli(["promote", "echo"]).status == 0)
            #expect(
                await eventually(within: 90) { (try? calls(10))?.names == Array(repeating: "green", count: 10) },
                "every call reaches green after the promotion")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
