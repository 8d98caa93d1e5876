// Times one reconcile of each of 10,000 different rollouts, single-threaded.
// Goal: under 1 s in all. Run with bench/reconcile/run (release build).
import AviaryCore
import AviaryModel
import Foundation

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 10_000

let manifests = [
    """
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: routed}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "web:1"}]}
      strategy:
        canary:
          canaryService: web-canary
          stableService: web-stable
          trafficRouting: {smi: {rootService: web}, managedRoutes: [{name: beta}]}
          analysis: {templates: [{templateName: success-rate}], startingStep: 2}
          steps:
          - setWeight: 10
          - setHeaderRoute: {name: beta, match: [{headerName: x-beta, headerValue: {exact: "1"}}]}
          - analysis: {templates: [{templateName: success-rate}]}
          - setWeight: 50
          - pause: {duration: 30s}
          - pause: {}
    """,
    """
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: basic}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "web:1"}]}
      strategy:
        canary:
          steps:
          - setWeight: 25
          - pause: {duration: 10s}
          - setWeight: 75
          - pause: {}
    """,
    """
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: bluegreen}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "web:1"}]}
      strategy:
        blueGreen:
          activeService: web-active
          previewService: web-preview
          autoPromotionEnabled: false
          prePromotionAnalysis: {templates: [{templateName: smoke}]}
    """,
]
let templates: [Rollout] = manifests.map { text in
    guard case .rollout(let rollout)? = ManifestDecoder().decode(text, file: "bench").resources.first else {
        fatalError("bench manifest does not decode")
    }
    return rollout
}

// Set-up (not timed): each rollout deployed, updated to a new image, and stepped a few times,
// so the inputs cover every stage of a rollout.
let start = Date(timeIntervalSince1970: 1_786_960_800)
var inputs: [(Rollout, ObservedState, Date)] = []
inputs.reserveCapacity(count)
for index in 0..<count {
    var rollout = templates[index % templates.count]
    rollout.metadata.name = "app-\(index)"
    rollout.spec.replicas = 1 + index % 20
    var simulator = RolloutSimulator(rollout: rollout, now: start, newRunPhase: .running)
    simulator.settle()
    simulator.rollout.spec.template?.spec.containers[0].image = "web:\(index)"
    for _ in 0..<(index % 9) {
        simulator.reconcile()
        simulator.finishRun(named: "app-", .successful)
        simulator.now = simulator.now.addingTimeInterval(15)
    }
    inputs.append((simulator.rollout, simulator.observed, simulator.now))
}

/// CPU time of this thread: on a shared machine wall time also counts other processes' turns.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

let clock = ContinuousClock()
var actionCount = 0
let cpuBefore = threadCPUSeconds()
let elapsed = clock.measure {
    for (rollout, observed, now) in inputs {
        actionCount &+= RolloutReconciler.reconcile(rollout: rollout, observed: observed, now: now).actions.count
    }
}
let cpu = threadCPUSeconds() - cpuBefore
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let scale = Double(count) / 10_000
print("reconcile: \(count) different rollouts, one reconcile each, single-threaded, \(actionCount) actions")
print(
    String(
        format: "wall %.3f s (%.1f µs each); thread CPU %.3f s (%.1f µs each)", seconds, seconds / Double(count) * 1e6,
        cpu, cpu / Double(count) * 1e6))
print(String(format: "goal: under 1 s per 10,000; ratio to goal: wall %.2f, CPU %.2f", seconds / scale, cpu / scale))
