import AviaryModel
import Foundation

@testable import AviaryCore

/// Rollouts for the scenario tests, written as people write them.
enum Fixtures {
    static let start = Date(timeIntervalSince1970: 1_786_960_800)  // 2026-08-17T10:00:00Z

    static func rollout(_ yaml: String) -> Rollout {
        let decoded = ManifestDecoder().decode(yaml, file: "test.yaml")
        guard case .rollout(let rollout)? = decoded.resources.first else {
            fatalError("fixture does not decode: \(decoded.diagnostics)")
        }
        return rollout
    }

    static func template(image: String) -> String {
        """
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: \(image)
        """
    }

    /// A canary through an SMI router: 10 replicas, 20% → analysis → 50% → pause 60s → pause.
    static func routedCanary(image: String = "web:1", extra: String = "") -> Rollout {
        rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web, generation: 1}
            spec:
              replicas: 10
            \(template(image: image))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting:
                    smi: {rootService: web}
                    managedRoutes: [{name: beta}]
            \(extra)
                  steps:
                  - setWeight: 20
                  - setHeaderRoute:
                      name: beta
                      match: [{headerName: x-beta, headerValue: {exact: "1"}}]
                  - analysis:
                      templates: [{templateName: success-rate}]
                      args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
                  - setWeight: 50
                  - pause: {duration: 60s}
                  - pause: {}
            """)
    }

    /// A canary without a router: 4 replicas, 25% → pause → 50%.
    static func basicCanary(image: String = "web:1") -> Rollout {
        rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 4
            \(template(image: image))
              strategy:
                canary:
                  maxSurge: 1
                  maxUnavailable: 0
                  steps:
                  - setWeight: 25
                  - pause: {}
                  - setWeight: 50
            """)
    }

    /// Blue-green with preview, pre- and post-promotion analysis and a manual promotion.
    static func blueGreen(image: String = "web:1", autoPromotion: Bool = false) -> Rollout {
        rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 3
            \(template(image: image))
              strategy:
                blueGreen:
                  activeService: web-active
                  previewService: web-preview
                  previewReplicaCount: 1
                  autoPromotionEnabled: \(autoPromotion)
                  prePromotionAnalysis:
                    templates: [{templateName: smoke}]
                  postPromotionAnalysis:
                    templates: [{templateName: success-rate}]
            """)
    }

    static func withImage(_ rollout: Rollout, _ image: String) -> Rollout {
        var rollout = rollout
        rollout.spec.template?.spec.containers[0].image = image
        return rollout
    }

    static func hash(_ rollout: Rollout) -> String {
        PodTemplateHash.compute(rollout.spec.template!)
    }
}

extension RolloutSimulator {
    /// A simulator whose rollout has been deployed (first version stable) and settled.
    static func deployed(_ rollout: Rollout, readiness: Readiness = .immediate) -> RolloutSimulator {
        var simulator = RolloutSimulator(
            rollout: rollout, now: Fixtures.start, readiness: .immediate, newRunPhase: .running)
        simulator.settle()
        simulator.readiness = readiness
        return simulator
    }

    /// The actions of the next reconcile, events left out, after which the simulator has applied them.
    mutating func step() -> [RolloutAction] {
        reconcile().actions.filter {
            if case .recordEvent = $0 { return false }
            return true
        }
    }

    /// The events of a list of results, as "Reason: message".
    static func events(_ actions: [RolloutAction]) -> [String] {
        actions.compactMap {
            guard case .recordEvent(let event) = $0 else { return nil }
            return "\(event.reason): \(event.message)"
        }
    }

    var status: RolloutStatus { rollout.status! }

    mutating func advance(seconds: Double) {
        now = now.addingTimeInterval(seconds)
    }
}
