import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// `canary.pingPong`, as Argo runs it: the stable pods stay behind one of the two Services, the
/// other follows the new ReplicaSet, the router splits between the two, and at promotion they
/// swap roles (`status.canary.stablePingPong`) instead of a selector moving.
@Suite struct PingPongTests {
    static func pingPongCanary(image: String = "web:1", routing: String = "istio: {virtualService: {name: web}}")
        -> Rollout
    {
        Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web, generation: 1}
            spec:
              replicas: 4
            \(Fixtures.template(image: image))
              strategy:
                canary:
                  pingPong: {pingService: web-ping, pongService: web-pong}
                  trafficRouting:
                    \(routing)
                  steps:
                  - setWeight: 50
                  - pause: {}
            """)
    }

    let v1 = Fixtures.hash(pingPongCanary(image: "web:1"))
    let v2 = Fixtures.hash(pingPongCanary(image: "web:2"))
    let v3 = Fixtures.hash(pingPongCanary(image: "web:3"))

    /// The selector changes and weights of a reconcile, in order.
    static func routing(_ actions: [RolloutAction]) -> [RolloutAction] {
        actions.filter {
            switch $0 {
            case .setServiceSelector, .setCanaryWeight: true
            default: false
            }
        }
    }

    /// Promotes through the `pause: {}` step and settles; returns every routing action taken.
    static func promote(_ simulator: inout RolloutSimulator) -> [RolloutAction] {
        simulator.rollout = simulator.rollout.promoted()
        return simulator.settle().flatMap { routing($0.actions) }
    }

    @Test func theFirstRevisionIsBehindPingAndEachPromotionSwapsTheRoles() {
        var simulator = RolloutSimulator.deployed(Self.pingPongCanary())
        #expect(simulator.observed.serviceSelectors == ["web-ping": v1])
        #expect(simulator.status.canary?.stablePingPong == nil)

        // web:2: pong follows the new pods, the split goes pong 50 / ping 50, ping is untouched.
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let toPause: [RolloutAction] = simulator.settle().flatMap { Self.routing($0.actions) }
        #expect(toPause == [.setServiceSelector(service: "web-pong", podTemplateHash: v2), .setCanaryWeight(50)])
        #expect(simulator.status.canary?.weights?.canary.serviceName == "web-pong")
        #expect(simulator.status.canary?.weights?.stable.serviceName == "web-ping")

        // Promoted: all traffic to pong, then pong is stable and no selector moves.
        let promotion: [RolloutAction] = Self.promote(&simulator)
        #expect(promotion == [.setCanaryWeight(100), .setCanaryWeight(0)])
        #expect(simulator.status.stableRS == v2)
        #expect(simulator.status.canary?.stablePingPong == "pong")
        #expect(simulator.observed.serviceSelectors == ["web-ping": v1, "web-pong": v2])
        #expect(simulator.status.canary?.weights?.canary.serviceName == "web-ping")
        #expect(simulator.status.canary?.weights?.stable.serviceName == "web-pong")
        #expect(simulator.status.canary?.weights?.stable.weight == 100)

        // web:3: now ping takes the canary and pong keeps the stable pods.
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:3")
        let third: [RolloutAction] = simulator.settle().flatMap { Self.routing($0.actions) }
        #expect(third == [.setServiceSelector(service: "web-ping", podTemplateHash: v3), .setCanaryWeight(50)])
        _ = Self.promote(&simulator)
        #expect(simulator.status.canary?.stablePingPong == "ping")
        #expect(simulator.observed.serviceSelectors == ["web-ping": v3, "web-pong": v2])
    }

    @Test func anAbortSendsEverythingBackToTheStableSideAndSwapsNothing() {
        var simulator = RolloutSimulator.deployed(Self.pingPongCanary())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        simulator.rollout = simulator.rollout.aborted()
        let actions: [RolloutAction] = simulator.settle().flatMap { Self.routing($0.actions) }
        #expect(actions == [.setCanaryWeight(0)])
        #expect(simulator.status.canary?.stablePingPong == nil)
        #expect(simulator.status.stableRS == v1)
        // As in Argo, the canary side keeps the canary's pods (at weight 0) until the next update.
        #expect(simulator.observed.serviceSelectors == ["web-ping": v1, "web-pong": v2])
    }

    @Test func besideALBTheRouterSplitsCanaryAndStableServicesWhilePingAndPongStillSwap() {
        // Argo's ALB ping-pong beside Istio's canary and stable Services: Aviary drives the Istio side.
        let rollout = Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web, generation: 1}
            spec:
              replicas: 4
            \(Fixtures.template(image: "web:1"))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  pingPong: {pingService: web-ping, pongService: web-pong}
                  trafficRouting:
                    alb: {ingress: web, rootService: web-root, servicePort: 80}
                    istio: {virtualService: {name: web}}
                  steps:
                  - setWeight: 50
                  - pause: {}
            """)
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.canary?.weights?.canary.serviceName == "web-canary")
        #expect(simulator.observed.serviceSelectors["web-pong"] == v2)
        #expect(simulator.observed.serviceSelectors["web-canary"] == v2)
        _ = Self.promote(&simulator)
        #expect(simulator.status.canary?.stablePingPong == "pong")
        #expect(simulator.observed.serviceSelectors["web-stable"] == v2)
        #expect(simulator.observed.serviceSelectors["web-ping"] == v1)
    }

    @Test(arguments: [
        (nil, "web-ping", "web-pong"), ("ping", "web-ping", "web-pong"), ("pong", "web-pong", "web-ping"),
        ("", "web-ping", "web-pong"),
    ] as [(String?, String, String)])
    func theStatusNamesTheStableSide(stablePingPong: String?, stable: String, canary: String) {
        let sides = PingPongSpec(pingService: "web-ping", pongService: "web-pong").sides(stablePingPong: stablePingPong)
        #expect(sides.stable == stable)
        #expect(sides.canary == canary)
    }
}
