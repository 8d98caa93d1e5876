import AviaryAPI
import AviaryLocal
import AviaryStore
import Foundation
import Testing

@testable import AviaryServer

/// Rollout and Service names are shared by every namespace on one host, and each Service has
/// its own port: an apply that breaks either is refused whole.
@Suite struct LocalPlatformRulesTests {
    private static func service(_ name: String, namespace: String = "default", port: Int) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: \(namespace)}
        spec: {selector: {app: \(name)}, ports: [{port: \(port)}]}
        """
    }

    private static func rollout(_ name: String, namespace: String = "default") -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
          replicas: 1
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec: {containers: [{name: app, image: "sample:v1"}]}
          strategy: {canary: {steps: [{setWeight: 50}]}}
        """
    }

    /// Each row: what is stored first, then the apply, and the start of each problem (none: accepted).
    static let rows: [(stored: [String], apply: [String], problems: [String])] = [
        ([], [service("web", port: 8080), rollout("web")], []),
        // Re-applying the same objects, or moving a Service to a free port, is fine.
        ([service("web", port: 8080)], [service("web", port: 8080)], []),
        ([service("web", port: 8080)], [service("web", port: 9090)], []),
        // Same name in another namespace: refused for Rollouts and Services.
        ([rollout("web", namespace: "a")], [rollout("web", namespace: "b")], ["Rollout b/web: metadata.name is taken"]),
        (
            [service("web", namespace: "a", port: 8080)], [service("web", namespace: "b", port: 9090)],
            ["Service b/web: metadata.name is taken"]
        ),
        // Two documents of one file conflict with each other.
        (
            [], [rollout("api", namespace: "a"), rollout("api", namespace: "b")],
            ["Rollout b/api: metadata.name is taken"]
        ),
        (
            [], [service("one", port: 8080), service("two", port: 8080)],
            ["Service default/two: spec.ports[0].port 8080"]
        ),
        // A port another Service listens on.
        ([service("web", port: 8080)], [service("api", port: 8080)], ["Service default/api: spec.ports[0].port 8080"]),
        // A workloadRef names a Deployment, applied to the daemon beside the Rollout: accepted.
        (
            [],
            [
                rollout("web").replacingOccurrences(
                    of:
                        "  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: app, image: \"sample:v1\"}]}\n",
                    with: "  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n")
            ],
            []
        ),
        // A Service that moved frees its old port within the same apply.
        ([service("web", port: 8080)], [service("web", port: 9090), service("api", port: 8080)], []),
        // The router's TLS and sticky sessions, by annotation: files it can read, one sticky key.
        ([], [annotated(["aviary.dev/tls-cert-file": "/etc/passwd", "aviary.dev/tls-key-file": "/etc/passwd"])], []),
        (
            [], [annotated(["aviary.dev/tls-cert-file": "/etc/passwd"])],
            [
                "Service default/web: metadata.annotations: aviary.dev/tls-cert-file is set without aviary.dev/tls-key-file"
            ]
        ),
        (
            [], [annotated(["aviary.dev/tls-cert-file": "certs/web.crt", "aviary.dev/tls-key-file": "certs/web.key"])],
            [
                "Service default/web: metadata.annotations: aviary.dev/tls-cert-file and aviary.dev/tls-key-file must be absolute"
            ]
        ),
        (
            [],
            [
                annotated([
                    "aviary.dev/tls-cert-file": "/nonexistent/web.crt", "aviary.dev/tls-key-file": "/etc/passwd",
                ])
            ],
            ["Service default/web: metadata.annotations: /nonexistent/web.crt cannot be read by the daemon"]
        ),
        // TLS from a Secret of the Service's namespace: stored, or in the same apply.
        ([secret("web-tls", keys: ["tls.crt", "tls.key"])], [annotated(["aviary.dev/tls-secret": "web-tls"])], []),
        ([], [secret("web-tls", keys: ["tls.crt", "tls.key"]), annotated(["aviary.dev/tls-secret": "web-tls"])], []),
        (
            [], [annotated(["aviary.dev/tls-secret": "web-tls"])],
            [
                "Service default/web: metadata.annotations: aviary.dev/tls-secret: there is no Secret default/web-tls; "
                    + "apply it first or in the same file: a Secret of type kubernetes.io/tls with tls.crt"
            ]
        ),
        (
            [secret("web-tls", namespace: "other", keys: ["tls.crt", "tls.key"])],
            [annotated(["aviary.dev/tls-secret": "web-tls"])],
            ["Service default/web: metadata.annotations: aviary.dev/tls-secret: there is no Secret default/web-tls"]
        ),
        (
            [secret("web-tls", keys: ["tls.crt"])], [annotated(["aviary.dev/tls-secret": "web-tls"])],
            ["Service default/web: metadata.annotations: aviary.dev/tls-secret: Secret default/web-tls has no tls.key"]
        ),
        (
            [], [annotated(["aviary.dev/tls-secret": "Web_TLS"])],
            ["Service default/web: metadata.annotations: aviary.dev/tls-secret: \"Web_TLS\" is not a Secret name"]
        ),
        (
            [secret("web-tls", keys: ["tls.crt", "tls.key"])],
            [annotated(["aviary.dev/tls-secret": "web-tls", "aviary.dev/tls-cert-file": "/etc/passwd"])],
            [
                "Service default/web: metadata.annotations: aviary.dev/tls-cert-file is set without",
                "Service default/web: metadata.annotations: aviary.dev/tls-secret and aviary.dev/tls-cert-file/aviary.dev/tls-key-file are both set",
            ]
        ),
        ([], [annotated(["aviary.dev/sticky-cookie": "web-side"])], []),
        (
            [], [annotated(["aviary.dev/sticky-cookie": "a", "aviary.dev/sticky-header": "X-User"])],
            [
                "Service default/web: metadata.annotations: aviary.dev/sticky-cookie and aviary.dev/sticky-header are both set"
            ]
        ),
        (
            [], [annotated(["aviary.dev/sticky-header": "X User"])],
            ["Service default/web: metadata.annotations: aviary.dev/sticky-header: \"X User\" is not a header name"]
        ),
    ]

    /// A Secret with a short PEM-looking value under each of `keys`.
    private static func secret(_ name: String, namespace: String = "default", keys: [String]) -> String {
        let data = keys.map { "\"\($0)\": \"-----BEGIN X-----\"" }.joined(separator: ", ")
        return """
            apiVersion: v1
            kind: Secret
            metadata: {name: \(name), namespace: \(namespace)}
            type: kubernetes.io/tls
            stringData: {\(data)}
            """
    }

    /// The Service `web` on port 8080 with `annotations`.
    private static func annotated(_ annotations: [String: String]) -> String {
        let pairs = annotations.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }
        return service("web", port: 8080).replacingOccurrences(
            of: "metadata: {name: web, namespace: default}",
            with: "metadata: {name: web, namespace: default, annotations: {\(pairs.joined(separator: ", "))}}")
    }

    /// Each row: the placement, what is stored, the apply, and the start of each problem.
    static let placementRows:
        [(placement: LocalPlatformRules.ServicePlacement, stored: [String], apply: [String], problems: [String])] = [
            // With addresses of their own, Services may share a port.
            (.init(portsMustDiffer: false), [service("web", port: 80)], [service("api", port: 80)], []),
            // A port the daemon may not bind names the Service and the offset that fixes it.
            (
                .init(portsMustDiffer: false, privilegedBelow: 1024), [], [service("web", port: 80)],
                [
                    "Service default/web: spec.ports[0].port 80 needs root on this host (ports below 1024): run aviary "
                        + "serve as root, or pass --service-port-offset 8000 so that it listens on 8080"
                ]
            ),
            (
                .init(portsMustDiffer: false, portOffset: 8000, privilegedBelow: 1024), [], [service("web", port: 80)],
                []
            ),
        ]

    @Test(arguments: placementRows.indices)
    func appliesWithPlacement(row: Int) throws {
        let (placement, stored, apply, expected) = Self.placementRows[row]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = ResourceAPI(store: try AviaryStore(stateDirectory: directory.path), servicePlacement: placement) {
            _ in
        }
        if !stored.isEmpty { _ = try api.apply(Data(stored.joined(separator: "\n---\n").utf8), file: "stored.yaml") }
        do {
            _ = try api.apply(Data(apply.joined(separator: "\n---\n").utf8), file: "apply.yaml")
            #expect(expected.isEmpty, "row \(row) was applied")
        } catch {
            #expect(error.status == 409)
            #expect(error.diagnostics == expected)
        }
    }

    @Test(arguments: rows.indices)
    func applies(row: Int) throws {
        let (stored, apply, expected) = Self.rows[row]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = ResourceAPI(store: try AviaryStore(stateDirectory: directory.path), changed: { _ in })
        if !stored.isEmpty { _ = try api.apply(Data(stored.joined(separator: "\n---\n").utf8), file: "stored.yaml") }
        let before =
            try api.list(kind: "rollouts", namespace: nil).count + api.list(kind: "services", namespace: nil).count
        do {
            let applied = try api.apply(Data(apply.joined(separator: "\n---\n").utf8), file: "apply.yaml")
            #expect(expected.isEmpty, "accepted, expected \(expected)")
            #expect(applied.count == apply.count)
        } catch {
            #expect(error.status == 409)
            #expect(error.message == "apply.yaml: conflicts with what the host already runs, nothing was applied")
            #expect(error.diagnostics.count == expected.count, "\(error.diagnostics)")
            for (line, start) in zip(error.diagnostics, expected) { #expect(line.hasPrefix(start), "\(line)") }
            // Nothing of a refused apply is stored.
            let after =
                try api.list(kind: "rollouts", namespace: nil).count + api.list(kind: "services", namespace: nil).count
            #expect(after == before)
        }
    }

    /// The API finds a port's holder through the store's index: a moved or deleted Service frees
    /// its port for the next apply, and the holder it names is the one that holds it now.
    @Test func aMovedOrDeletedServiceFreesItsPort() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = ResourceAPI(store: try AviaryStore(stateDirectory: directory.path), changed: { _ in })
        _ = try api.apply(Data(Self.service("web", port: 8080).utf8))
        _ = try api.apply(Data(Self.service("web", port: 9090).utf8))
        _ = try api.apply(Data(Self.service("api", namespace: "shop", port: 8080).utf8))
        do {
            _ = try api.apply(Data(Self.service("blog", port: 8080).utf8))
            Issue.record("port 8080 of shop/api was given to default/blog")
        } catch {
            #expect(
                error.diagnostics == [
                    "Service default/blog: spec.ports[0].port 8080 is already the listener of Service shop/api; "
                        + "each Service listens on its own port on this host: pick a free port"
                ])
        }
        try api.delete(kind: "services", namespace: "shop", name: "api")
        _ = try api.apply(Data(Self.service("blog", port: 8080).utf8))
        #expect(try api.list(kind: "services", namespace: nil).map(\.key.name) == ["blog", "web"])
    }

    @Test func theMessageNamesTheOtherNamespaceAndTheFix() throws {
        let problems = try LocalPlatformRules.problems(
            incoming: [], storedServices: [], namespacesHolding: { _, _ in [] })
        #expect(problems.isEmpty)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = ResourceAPI(store: try AviaryStore(stateDirectory: directory.path), changed: { _ in })
        _ = try api.apply(Data(Self.service("web", namespace: "shop", port: 8080).utf8))
        #expect(throws: APIError.self) {
            try api.apply(Data(Self.service("web", namespace: "blog", port: 8081).utf8))
        }
        do {
            _ = try api.apply(Data(Self.service("web", namespace: "blog", port: 8081).utf8))
        } catch {
            #expect(
                error.diagnostics == [
                    "Service blog/web: metadata.name is taken: a Service named web exists in namespace shop, and on "
                        + "one host Service names are shared by every namespace (the router names its service after "
                        + "it); rename one of them"
                ])
        }
    }
}
