import AviaryModel
import AviaryPlatform
import AviaryRouter
import AviaryRoutes
import Foundation
import Testing

@testable import AviaryLocal

let epoch = Date(timeIntervalSince1970: 1_800_000_000)

func makePod(
    _ name: String, labels: [String: String], ready: Bool = true, port: Int = 9000, probe: ReadinessProbe? = nil,
    minReadySeconds: Double = 0
) -> PodRecord {
    PodRecord(
        name: name, namespace: "default", replicaSet: "web-abc", rollout: "web", labels: labels,
        launch: PodLaunch(arguments: ["app"], image: "app:1", readiness: probe, minReadySeconds: minReadySeconds),
        port: port, process: ProcessIdentity(pid: 1, startTicks: 1), startedAt: epoch, restarts: 0,
        nextStartAt: nil, lastTermination: nil, isReady: ready, readySince: ready ? epoch : nil,
        consecutiveProbeFailures: 0, lastProbeAt: nil, createdAt: epoch)
}

@Suite struct PodLifecycleTests {
    @Test(arguments: [(0, 1.0), (1, 2), (2, 4), (5, 32), (6, 60), (40, 60)])
    func restartBackoffDoublesUpToTheCap(restarts: Int, seconds: Double) {
        #expect(PodLifecycle.restartDelay(restarts: restarts) == seconds)
    }

    @Test func probesWaitForTheInitialDelayThenEveryPeriod() {
        let probe = ReadinessProbe(path: "/healthz", initialDelaySeconds: 5, periodSeconds: 2)
        var pod = makePod("p", labels: [:], ready: false, probe: probe)
        #expect(!PodLifecycle.isProbeDue(pod, probe: probe, now: epoch.addingTimeInterval(4.9)))
        #expect(PodLifecycle.isProbeDue(pod, probe: probe, now: epoch.addingTimeInterval(5)))
        pod.lastProbeAt = epoch.addingTimeInterval(5)
        #expect(!PodLifecycle.isProbeDue(pod, probe: probe, now: epoch.addingTimeInterval(6.9)))
        #expect(PodLifecycle.isProbeDue(pod, probe: probe, now: epoch.addingTimeInterval(7)))
    }

    @Test func failureThresholdFailuresInARowMakeAPodUnready() {
        let probe = ReadinessProbe(path: "/", failureThreshold: 3)
        var pod = makePod("p", labels: [:], ready: false, probe: probe, minReadySeconds: 10)
        pod = PodLifecycle.applyProbe(pod, succeeded: true, probe: probe, now: epoch)
        #expect(pod.isReady && pod.readySince == epoch)
        #expect(!pod.isAvailable(at: epoch.addingTimeInterval(9)), "not available before minReadySeconds")
        #expect(pod.isAvailable(at: epoch.addingTimeInterval(10)))
        for attempt in 1...2 {
            pod = PodLifecycle.applyProbe(
                pod, succeeded: false, probe: probe, now: epoch.addingTimeInterval(Double(attempt)))
            #expect(pod.isReady)
        }
        pod = PodLifecycle.applyProbe(pod, succeeded: false, probe: probe, now: epoch.addingTimeInterval(3))
        #expect(!pod.isReady && pod.readySince == nil)
        pod = PodLifecycle.applyProbe(pod, succeeded: true, probe: probe, now: epoch.addingTimeInterval(4))
        #expect(pod.isReady && pod.consecutiveProbeFailures == 0)
    }

    @Test func anExitSchedulesARestartAfterTheBackoff() {
        var pod = makePod("p", labels: [:])
        pod = PodLifecycle.applyExit(pod, termination: "exit 1", now: epoch.addingTimeInterval(1))
        #expect(pod.restarts == 1 && !pod.isReady && pod.process == nil)
        #expect(pod.nextStartAt == epoch.addingTimeInterval(2))
        pod.startedAt = epoch.addingTimeInterval(2)
        pod = PodLifecycle.applyExit(pod, termination: "exit 1", now: epoch.addingTimeInterval(3))
        #expect(pod.restarts == 2)
        #expect(pod.nextStartAt == epoch.addingTimeInterval(5), "second restart waits 2 s")
        pod.startedAt = epoch
        pod = PodLifecycle.applyExit(pod, termination: "exit 1", now: epoch.addingTimeInterval(100))
        #expect(pod.nextStartAt == epoch.addingTimeInterval(101), "a long run starts the backoff over")
    }
}

@Suite struct ServiceRoutingTests {
    let stablePods = (1...3).map {
        makePod("web-old-\($0)", labels: ["app": "web", "rollouts-pod-template-hash": "old"], port: 9000 + $0)
    }
    let canaryPod = makePod(
        "web-new-1", labels: ["app": "web", "rollouts-pod-template-hash": "new", "role": "canary"], port: 9100)
    let unreadyPod = makePod(
        "web-new-2", labels: ["app": "web", "rollouts-pod-template-hash": "new"], ready: false, port: 9101)
    let headerRoute = SetHeaderRoute(
        name: "h", match: [HeaderRoutingMatch(headerName: "x-canary", headerValue: StringMatch(exact: "1"))])

    var services: [PlatformService] {
        [
            PlatformService(name: "web", port: 8080, selector: ["app": "web"]),
            PlatformService(
                name: "web-canary", port: 8081, selector: ["app": "web", "rollouts-pod-template-hash": "new"]),
            PlatformService(
                name: "web-stable", port: 8082, selector: ["app": "web", "rollouts-pod-template-hash": "old"]),
        ]
    }

    func share(_ route: RouteDefinition, _ service: String) -> Double {
        let total = route.backends.compactMap(\.weight).reduce(0, +)
        let part = route.backends.filter { $0.service == service }.compactMap(\.weight).reduce(0, +)
        return Double(part) / Double(total)
    }

    @Test func twoServicesOnOnePortKeepOneListenerSoTheTableStaysValid() {
        let clashing =
            services + [
                PlatformService(name: "aaa", namespace: "other", port: 8081, selector: ["app": "other"]),
                PlatformService(name: "blog", namespace: "blog", port: 8082, selector: ["app": "blog"]),
            ]
        let table = ServiceRouting.table(services: clashing, splits: [], pods: stablePods + [canaryPod])
        #expect(table.listeners.map(\.address) == ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"])
        // "default" sorts before "other", and "blog" before "default": the first by namespace keeps it.
        #expect(table.listeners.map { $0.routes[0].backends[0].service } == ["web", "web-canary", "blog"])
    }

    @Test func aServiceWithTLSGetsATLSListenerAndARootWithStickinessStickyWeightedRoutes() throws {
        var services = self.services
        services[0].tls = ServiceTLSFiles(certificateFile: "/c.pem", keyFile: "/k.pem")
        services[0].sticky = ServiceStickiness(cookie: "side")
        services[1].tls = ServiceTLSFiles(certificateFile: "/c1.pem", keyFile: "/k1.pem")
        var split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 20)
        split.headerRoutes = [headerRoute]
        let table = ServiceRouting.table(services: services, splits: [split], pods: stablePods + [canaryPod])
        #expect(
            table.listeners[0].tls
                == ListenerTLS(certificates: [TLSCertificateFiles(certificateFile: "/c.pem", keyFile: "/k.pem")]))
        #expect(table.listeners[1].tls?.certificates.first?.certificateFile == "/c1.pem")
        #expect(table.listeners[2].tls == nil)
        let routes = table.listeners[0].routes
        #expect(routes.map(\.name) == ["h", "default"])
        // The header route sends every match to the canary: nothing to keep a session on.
        #expect(routes[0].sticky == nil)
        #expect(routes[1].sticky == StickyDefinition(cookie: "side"))
        #expect(routes[1].backends.map(\.service) == ["web-canary", "web-stable"], "the canary's range comes first")
        // A Service that is not a split's root has one backend: stickiness has nothing to do.
        services[1].sticky = ServiceStickiness(header: "X-User")
        let plain = ServiceRouting.table(services: services, splits: [], pods: stablePods)
        #expect(plain.listeners[1].routes.allSatisfy { $0.sticky == nil })
    }

    @Test func aServiceWhosePodsSpeakHTTP2IsAnH2cBackend() {
        var services = self.services
        services[1].http2 = true
        let table = ServiceRouting.table(services: services, splits: [], pods: stablePods + [canaryPod])
        #expect(table.services["web-canary"]?.protocol == .h2c)
        #expect(table.services["web"]?.protocol == nil && table.services["web-stable"]?.protocol == nil)
    }

    @Test(arguments: [
        ("grpc", nil, true), ("h2c", nil, true), ("kubernetes.io/h2c", nil, true), ("HTTP2", nil, true),
        ("http", "grpc", false), ("kubernetes.io/ws", nil, false), ("", "grpc-api", true), (nil, "grpc", true),
        (nil, "h2c-web", true), (nil, "http2", true), (nil, "http", false), (nil, "grpcweb", false), (nil, nil, false),
    ] as [(String?, String?, Bool)])
    func whichServicePortsSpeakHTTP2(appProtocol: String?, portName: String?, expected: Bool) {
        #expect(PlatformService.speaksHTTP2(appProtocol: appProtocol, portName: portName) == expected)
    }

    @Test func withoutASplitEveryServiceSpreadsOverItsReadyPods() {
        let table = ServiceRouting.table(services: services, splits: [], pods: stablePods + [canaryPod, unreadyPod])
        #expect(table.services["web"]?.endpoints.count == 4, "the unready pod gets nothing")
        #expect(table.services["web-canary"]?.endpoints == ["127.0.0.1:9100"])
        #expect(table.services["web-stable"]?.endpoints == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"])
        #expect(table.listeners.map(\.address) == ["127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"])
        #expect(
            table.listeners[0].routes == [
                RouteDefinition(name: "default", backends: [BackendReference(service: "web", weight: 100)])
            ])
    }

    @Test(arguments: [0, 10, 25, 50, 100])
    func aSplitSendsTheCanaryWeightToTheCanaryService(weight: Int) throws {
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: weight)
        let table = ServiceRouting.table(services: services, splits: [split], pods: stablePods + [canaryPod])
        let route = try #require(table.listeners[0].routes.last)
        #expect(share(route, "web-canary") == Double(weight) / 100)
        #expect(share(route, "web-stable") == Double(100 - weight) / 100)
    }

    /// An experiment step's templates (Argo's `weights.additional`): each takes its share out of the
    /// stable side's, also while the canary has no pod; one without a ready pod leaves its share there.
    @Test(arguments: [
        (20, true, true, ["web-canary": 20, "exp-a": 10, "exp-b": 10, "web-stable": 60]),
        (0, true, true, ["exp-a": 10, "exp-b": 10, "web-stable": 80]),
        (0, false, false, ["exp-a": 10, "web-stable": 90]),
        (30, true, false, ["web-canary": 30, "exp-a": 10, "web-stable": 60]),
    ])
    func experimentTemplatesTakeTheirShareFromStable(
        weight: Int, canaryPodReady: Bool, bReady: Bool, expected: [String: Int]
    ) throws {
        var split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: weight)
        split.additionalBackends = [
            AdditionalBackend(service: "exp-a", weight: 10), AdditionalBackend(service: "exp-b", weight: 10),
        ]
        let experimentServices = [
            PlatformService(name: "exp-a", port: 8083, selector: ["side": "a"]),
            PlatformService(name: "exp-b", port: 8084, selector: ["side": "b"]),
        ]
        let experimentPods =
            [makePod("exp-a-1", labels: ["side": "a"], port: 9200)]
            + (bReady ? [makePod("exp-b-1", labels: ["side": "b"], port: 9201)] : [])
        let table = ServiceRouting.table(
            services: services + experimentServices, splits: [split],
            pods: stablePods + (canaryPodReady ? [canaryPod] : []) + experimentPods)
        let route = try #require(table.listeners[0].routes.last)
        var shares: [String: Int] = [:]
        for backend in route.backends { shares[backend.service] = backend.weight }
        #expect(shares == expected)
    }

    @Test func headerAndMirrorRoutesComeBeforeTheDefaultInATableTheRouterReads() throws {
        let mirror = SetMirrorRoute(
            name: "m", match: [AviaryModel.RouteMatch(method: StringMatch(exact: "GET"))], percentage: 50)
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 10,
            headerRoutes: [headerRoute], mirrorRoutes: [mirror])
        let table = ServiceRouting.table(services: services, splits: [split], pods: stablePods + [canaryPod])
        let routes = table.listeners[0].routes
        #expect(routes.map(\.name) == ["h", "m", "default"])
        #expect(routes[0].backends == [BackendReference(service: "web-canary", weight: 100)])
        #expect(routes[0].match == AviaryRoutes.RouteMatch(headers: [HeaderMatch(name: "x-canary", exact: "1")]))
        #expect(routes[1].mirror == MirrorDefinition(service: "web-canary", percent: 50))
        let json = String(decoding: try JSONEncoder().encode(table), as: UTF8.self)
        #expect(try RouteTable.decode(json, source: "PUT /table") == table, "the router's own reader takes it whole")
    }

    @Test func aSplitWithoutReadyCanaryPodsSendsEverythingToStable() throws {
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 25,
            headerRoutes: [headerRoute])
        let table = ServiceRouting.table(services: services, splits: [split], pods: stablePods + [unreadyPod])
        #expect(
            table.listeners[0].routes == [
                RouteDefinition(name: "default", backends: [BackendReference(service: "web-stable", weight: 100)])
            ])
    }

    @Test func serviceDiscoveryListsReadyPodsWithPrometheusLabelNames() throws {
        let data = ServiceRouting.serviceDiscoveryJSON(pods: [canaryPod, unreadyPod])
        let groups = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(groups.count == 1)
        #expect(groups[0]["targets"] as? [String] == ["127.0.0.1:9100"])
        #expect(
            groups[0]["labels"] as? [String: String] == [
                "app": "web", "rollouts_pod_template_hash": "new", "role": "canary", "pod": "web-new-1",
                "namespace": "default", "rollout": "web",
            ])
    }

    @Test(arguments: [
        ("app", "app"), ("rollouts-pod-template-hash", "rollouts_pod_template_hash"),
        ("app.kubernetes.io/name", "app_kubernetes_io_name"), ("9lives", "_9lives"),
    ])
    func labelNames(name: String, expected: String) {
        #expect(ServiceRouting.prometheusLabelName(name) == expected)
    }
}
