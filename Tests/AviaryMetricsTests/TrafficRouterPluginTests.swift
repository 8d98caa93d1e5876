import AviaryJSON
import AviaryModel
import AviaryPlatform
import AviaryRoutes
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// A split's routers: the one that keys it with the split itself, then each router named beside it
/// with the same weights and routes, through its own Services when it has them.
@Test func aSplitGoesToEachRouterWithItsOwnServices() {
    var split = TrafficRouterPluginCallTests.split(weight: 10, header: true)
    split.provider = .istio(IstioTrafficRouting(virtualService: IstioVirtualService(name: "web")))
    let alb = TrafficProvider.alb(ALBTrafficRouting(ingress: "web", servicePort: 80))
    let plugin = TrafficProvider.plugin(name: "acme/router", configuration: [:])
    split.additionalRouters = [
        AdditionalRouter(provider: alb, canaryService: "web-pong", stableService: "web-ping", rootService: "web-root"),
        AdditionalRouter(provider: plugin),
    ]
    let routers = split.routers
    #expect(routers.map(\.provider?.name) == ["Istio", "ALB", "acme/router"])
    #expect(routers.map(\.split.canaryService) == ["web-canary", "web-pong", "web-canary"])
    #expect(routers.map(\.split.stableService) == ["web-stable", "web-ping", "web-stable"])
    #expect(routers.allSatisfy { $0.split.additionalRouters == nil && $0.split.provider == $0.provider })
    #expect(routers.allSatisfy { $0.split.canaryWeight == 10 && $0.split.headerRoutes == split.headerRoutes })
    #expect(routers.map(\.split.rootService) == ["web-stable", "web-root", "web-stable"])
    // Without routers beside it, one entry: SMI (nil) or the router.
    #expect(TrafficRouterPluginCallTests.split(weight: 0).routers.map(\.provider) == [nil])
}

/// Which calls bring a plugin's router from the split last applied to the next, in Argo's order.
struct TrafficRouterPluginCallTests {
    static let header = SetHeaderRoute(
        name: "header", match: [HeaderRoutingMatch(headerName: "X-Canary", headerValue: StringMatch(exact: "yes"))])
    static let mirror = SetMirrorRoute(
        name: "mirror", match: [RouteMatch(method: StringMatch(exact: "GET"))], percentage: 50)

    static func split(weight: Int, header: Bool = false, mirror: Bool = false, managed: [String]? = nil) -> TrafficSplit
    {
        var split = TrafficSplit(
            rootService: "web-stable", canaryService: "web-canary", stableService: "web-stable", canaryWeight: weight,
            headerRoutes: header ? [Self.header] : [], mirrorRoutes: mirror ? [Self.mirror] : [], rollout: "web")
        split.canaryHash = "c1"
        split.stableHash = "s1"
        split.managedRoutes = managed
        return split
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var previous: TrafficSplit?
        var next: TrafficSplit
        var calls: [TrafficRouterPluginCall]
        var testDescription: String { name }
    }

    static let hashAndWeight10: [TrafficRouterPluginCall] = [
        .updateHash(canary: "c1", stable: "s1", additional: []), .setWeight(10, additional: []),
    ]

    static let rows: [Row] = [
        Row(
            name: "a first apply without routes or managed routes", previous: nil, next: split(weight: 10),
            calls: hashAndWeight10),
        Row(
            name: "a first apply without routes clears the managed ones (Argo does on every such reconcile)",
            previous: nil, next: split(weight: 10, managed: ["header"]),
            calls: [.removeManagedRoutes] + hashAndWeight10),
        Row(
            name: "a new header route is set before the weight", previous: split(weight: 10),
            next: split(weight: 10, header: true), calls: [.setHeaderRoute(header)] + hashAndWeight10),
        Row(
            name: "an unchanged route is not set again", previous: split(weight: 10, header: true),
            next: split(weight: 10, header: true, mirror: true), calls: [.setMirrorRoute(mirror)] + hashAndWeight10),
        Row(
            name: "a route gone while another stays is removed by name",
            previous: split(weight: 10, header: true, mirror: true),
            next: split(weight: 10, mirror: true),
            calls: [.setHeaderRoute(SetHeaderRoute(name: "header"))] + hashAndWeight10),
        Row(
            name: "the last route gone: RemoveManagedRoutes", previous: split(weight: 10, header: true, mirror: true),
            next: split(weight: 0),
            calls: [
                .removeManagedRoutes, .updateHash(canary: "c1", stable: "s1", additional: []),
                .setWeight(0, additional: []),
            ]),
        Row(
            name: "no routes before or after: no removal", previous: split(weight: 10, managed: ["header"]),
            next: split(weight: 33, managed: ["header"]),
            calls: [.updateHash(canary: "c1", stable: "s1", additional: []), .setWeight(33, additional: [])]),
        Row(
            name: "an experiment's templates are additional destinations",
            previous: nil,
            next: {
                var next = split(weight: 10)
                next.additionalBackends = [AdditionalBackend(service: "web-exp", weight: 5, podTemplateHash: "e1")]
                return next
            }(),
            calls: [
                .updateHash(
                    canary: "c1", stable: "s1",
                    additional: [WeightDestination(weight: 5, serviceName: "web-exp", podTemplateHash: "e1")]),
                .setWeight(
                    10, additional: [WeightDestination(weight: 5, serviceName: "web-exp", podTemplateHash: "e1")]),
            ]),
    ]

    @Test(arguments: rows) func calls(_ row: Row) {
        #expect(TrafficRouterPluginCall.calls(for: row.next, previous: row.previous) == row.calls)
    }
}

/// The plugin host against a real go-plugin traffic router (the Go peer beside these tests),
/// whose "router" is a JSON file.
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct TrafficRouterPluginTests {
    final class Files {
        let directory = NSTemporaryDirectory() + "aviary-router-peer-" + UUID().uuidString
        var state: String { directory + "/state.json" }
        var verify: String { directory + "/verify" }
        var fail: String { directory + "/fail" }
        init() throws { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: directory) }
        func router() throws -> JSONValue { try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: state))) }
    }

    static func host(
        list: String = "trafficRouterPlugins", source: String = GoPluginPeer.trafficRouterPluginSource
    )
        throws -> ArgoPluginHost
    {
        let binary = try GoPluginPeer.build(source)
        return ArgoPluginHost(
            kind: .trafficRouter,
            configuration: { [list: "- name: aviary-test/router\n  location: file://\(binary)"] },
            configurationPlace: "namespace argo-rollouts",
            binDirectory: NSTemporaryDirectory() + "aviary-plugin-bin-" + UUID().uuidString, log: { _, _ in })
    }

    static func rollout(_ files: Files) throws -> Rollout {
        try JSONValue(
            parsing: Data(
                """
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                 "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "generation": 3,
                              "labels": {"team": "payments"}},
                 "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                          "template": {"metadata": {"labels": {"app": "web"}},
                                       "spec": {"containers": [{"name": "web", "image": "web:v2"}]}},
                          "strategy": {"canary": {"canaryService": "web-canary", "stableService": "web-stable",
                            "trafficRouting": {"managedRoutes": [{"name": "header"}, {"name": "mirror"}],
                              "plugins": {"aviary-test/router": {"stateFile": "\(files.state)",
                                "verifyFile": "\(files.verify)", "failFile": "\(files.fail)"}}}}}},
                 "status": {"stableRS": "s1", "currentPodHash": "c1"}}
                """.utf8)
        ).decoded(as: Rollout.self)
    }

    @Test func eachCallReachesThePluginWithTheRollout() async throws {
        let files = try Files()
        let host = try Self.host()
        let plugins = ArgoTrafficRouterPlugins(host: host)
        let rollout = try Self.rollout(files)
        let header = TrafficRouterPluginCallTests.header
        let mirror = TrafficRouterPluginCallTests.mirror
        let experiment = WeightDestination(weight: 5, serviceName: "web-exp", podTemplateHash: "e1")
        try await plugins.perform(
            [
                .setHeaderRoute(header), .setMirrorRoute(mirror),
                .updateHash(canary: "c1", stable: "s1", additional: [experiment]),
                .setWeight(10, additional: [experiment]),
            ], plugin: "aviary-test/router", rollout: rollout)
        var router = try files.router()
        #expect(router["weight"]?.integerValue == 10)
        #expect(router["canaryHash"] == "c1")
        #expect(router["stableHash"] == "s1")
        #expect(
            router["additional"] == JSONValue.array([["weight": 5, "serviceName": "web-exp", "podTemplateHash": "e1"]]))
        #expect(
            router[path: "headerRoutes", "header"] == [["headerName": "X-Canary", "headerValue": ["exact": "yes"]]])
        #expect(router[path: "mirrorRoutes", "mirror"] == ["match": [["method": ["exact": "GET"]]], "percentage": 50])
        #expect(
            router["calls"]
                == ["SetHeaderRoute header", "SetMirrorRoute mirror", "UpdateHash", "SetWeight 10"])
        let received = router["rollout"] ?? [:]
        #expect(received["name"] == "web")
        #expect(received["namespace"] == "shop")
        #expect(received["uid"] == "u-1")
        #expect(received["generation"]?.integerValue == 3)
        #expect(received["labels"] == ["team": "payments"])
        #expect(received["managedRoutes"] == ["header", "mirror"])
        #expect(received["replicas"]?.integerValue == 4)
        #expect(received["stableRS"] == "s1")
        #expect(received["currentPodHash"] == "c1")

        // A route without a match is removed; RemoveManagedRoutes drops the rest.
        try await plugins.perform(
            [.setHeaderRoute(SetHeaderRoute(name: "header"))], plugin: "aviary-test/router", rollout: rollout)
        #expect(try files.router()[path: "headerRoutes", "header"] == nil)
        try await plugins.perform([.removeManagedRoutes], plugin: "aviary-test/router", rollout: rollout)
        router = try files.router()
        #expect(router["mirrorRoutes"] == [:])
        await host.stopAll()
    }

    @Test func verifyWeightReadsArgosThreeAnswers() async throws {
        let files = try Files()
        let host = try Self.host()
        let plugins = ArgoTrafficRouterPlugins(host: host)
        let rollout = try Self.rollout(files)
        func verify() async throws -> Bool? {
            try await plugins.verifyWeight(10, additional: [], plugin: "aviary-test/router", rollout: rollout)
        }
        #expect(try await verify() == nil, "no answer file: NotImplemented")
        try "NotVerified".write(toFile: files.verify, atomically: true, encoding: .utf8)
        #expect(try await verify() == false)
        try "Verified".write(toFile: files.verify, atomically: true, encoding: .utf8)
        #expect(try await verify() == true)
        await host.stopAll()
    }

    @Test func thePluginsErrorIsArgosMessageAndStopsTheCalls() async throws {
        let files = try Files()
        let host = try Self.host()
        let plugins = ArgoTrafficRouterPlugins(host: host)
        try "quota exceeded".write(toFile: files.fail, atomically: true, encoding: .utf8)
        let error = await #expect(throws: TrafficRouterPluginError.self) {
            try await plugins.perform(
                [.setWeight(10, additional: []), .removeManagedRoutes], plugin: "aviary-test/router",
                rollout: try Self.rollout(files))
        }
        #expect(error?.description == "failed to set weight via plugin: quota exceeded")
        #expect(error?.reason == "TrafficRoutingError")
        #expect(!FileManager.default.fileExists(atPath: files.state), "no call after the failed one")
        await host.stopAll()
    }

    @Test func aPluginNotListedOrOfAnotherKindIsNamed() async throws {
        let files = try Files()
        let rollout = try Self.rollout(files)
        let unlisted = ArgoTrafficRouterPlugins(host: try Self.host(list: "metricProviderPlugins"))
        let notListed = await #expect(throws: TrafficRouterPluginError.self) {
            try await unlisted.perform([.setWeight(10, additional: [])], plugin: "aviary-test/router", rollout: rollout)
        }
        #expect(
            notListed?.description
                == "failed to get traffic router plugin aviary-test/router: traffic router plugin aviary-test/router "
                + "is not configured: add it to trafficRouterPlugins of the ConfigMap argo-rollouts-config in "
                + "namespace argo-rollouts (- name: aviary-test/router, location: file://… or https://…)")
        // A metric plugin's binary listed as a traffic router refuses the handshake (go-plugin's cookie).
        let metricBinary = ArgoTrafficRouterPlugins(host: try Self.host(source: GoPluginPeer.metricPluginSource))
        let wrongKind = await #expect(throws: TrafficRouterPluginError.self) {
            try await metricBinary.perform(
                [.setWeight(10, additional: [])], plugin: "aviary-test/router", rollout: rollout)
        }
        #expect(wrongKind?.description.hasPrefix("failed to get traffic router plugin aviary-test/router: ") == true)
        #expect(wrongKind?.description.contains("handshake") == true, "\(wrongKind?.description ?? "")")
    }
}
