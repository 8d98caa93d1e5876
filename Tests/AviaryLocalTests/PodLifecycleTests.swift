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

    var services: [LocalService] {
        [
            LocalService(name: "web", port: 8080, selector: ["app": "web"]),
            LocalService(
                name: "web-canary", port: 8081, selector: ["app": "web", "rollouts-pod-template-hash": "new"]),
            LocalService(
                name: "web-stable", port: 8082, selector: ["app": "web", "rollouts-pod-template-hash": "old"]),
        ]
    }

    func share(_ route: RoutePlan, _ service: String) -> Double {
        let total = route.backends.map(\.weight).reduce(0, +)
        let part = route.backends.filter { $0.service == service }.map(\.weight).reduce(0, +)
        return Double(part) / Double(total)
    }

    @Test func twoServicesOnOnePortKeepOneListenerSoTheTableStaysValid() {
        let clashing =
            services + [
                LocalService(name: "aaa", namespace: "other", port: 8081, selector: ["app": "other"]),
                LocalService(name: "blog", namespace: "blog", port: 8082, selector: ["app": "blog"]),
            ]
        let plan = ServiceRouting.plan(services: clashing, splits: [], pods: stablePods + [canaryPod])
        #expect(plan.listeners.map(\.port) == [8080, 8081, 8082])
        // "default" sorts before "other", and "blog" before "default": the first by namespace keeps it.
        #expect(plan.listeners.map(\.service) == ["web", "web-canary", "blog"])
    }

    @Test func withoutASplitEveryServiceSpreadsOverItsReadyPods() {
        let plan = ServiceRouting.plan(services: services, splits: [], pods: stablePods + [canaryPod, unreadyPod])
        #expect(plan.endpoints["web"]?.count == 4, "the unready pod gets nothing")
        #expect(plan.endpoints["web-canary"] == ["127.0.0.1:9100"])
        #expect(plan.endpoints["web-stable"] == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"])
        #expect(plan.listeners.map(\.port) == [8080, 8081, 8082])
        #expect(
            plan.listeners[0].routes == [
                RoutePlan(name: "default", backends: [BackendShare(service: "web", weight: 100)])
            ])
    }

    @Test(arguments: [0, 10, 25, 50, 100])
    func aSplitSendsTheCanaryWeightToTheCanaryService(weight: Int) throws {
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: weight)
        let plan = ServiceRouting.plan(services: services, splits: [split], pods: stablePods + [canaryPod])
        let route = try #require(plan.listeners[0].routes.last)
        #expect(share(route, "web-canary") == Double(weight) / 100)
        #expect(share(route, "web-stable") == Double(100 - weight) / 100)
    }

    @Test func headerAndMirrorRoutesComeBeforeTheDefault() throws {
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 10,
            headerRoutes: [
                HeaderRoute(
                    name: "h", matches: [HeaderMatch(header: "x-canary", value: ValueMatch(kind: "exact", value: "1"))])
            ],
            mirrorRoutes: [
                MirrorRoute(
                    name: "m", percentage: 50, matches: [MirrorMatch(method: ValueMatch(kind: "exact", value: "GET"))])
            ])
        let plan = ServiceRouting.plan(services: services, splits: [split], pods: stablePods + [canaryPod])
        let routes = plan.listeners[0].routes
        #expect(routes.map(\.name) == ["h", "m", "default"])
        #expect(routes[0].backends == [BackendShare(service: "web-canary", weight: 100)])
        #expect(routes[1].mirror == BackendShare(service: "web-canary", weight: 50))
        let table = RouterTable.object(plan)
        let listeners = try #require(table["listeners"] as? [[String: Any]])
        #expect(listeners[0]["address"] as? String == "127.0.0.1:8080")
        let firstRoute = try #require((listeners[0]["routes"] as? [[String: Any]])?.first)
        let match = try #require(firstRoute["match"] as? [String: Any])
        #expect((match["headers"] as? [[String: String]]) == [["name": "x-canary", "exact": "1"]])
    }

    @Test func aSplitWithoutReadyCanaryPodsSendsEverythingToStable() throws {
        let split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 25,
            headerRoutes: [
                HeaderRoute(
                    name: "h", matches: [HeaderMatch(header: "x-canary", value: ValueMatch(kind: "exact", value: "1"))])
            ])
        let plan = ServiceRouting.plan(services: services, splits: [split], pods: stablePods + [unreadyPod])
        #expect(
            plan.listeners[0].routes == [
                RoutePlan(name: "default", backends: [BackendShare(service: "web-stable", weight: 100)])
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
