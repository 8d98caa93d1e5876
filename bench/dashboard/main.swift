// Times the web dashboard's pages as the daemon renders them (issue #22): the whole list page of
// 1,000 canary rollouts and the whole page of one busy rollout (3 ReplicaSets of 5 pods, 2
// AnalysisRuns of 2 metrics with 30 measurements each, 100 events), plus decoding the API
// answers the daemon reads before it renders (it fetches them from its own API).
// Goals: list page ≤ 100 ms median, rollout page ≤ 20 ms median (release build).
// Usage: aviary-bench-dashboard [LIST_ITERATIONS [PAGE_ITERATIONS]]   (default 50 and 500)
// Run with bench/dashboard/run, which also measures the live update of an open page.
import AviaryAPI
import AviaryClient
import AviaryDashboard
import AviaryModel
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains(where: { Int($0) == nil || Int($0)! < 1 }) {
    print("usage: aviary-bench-dashboard [LIST_ITERATIONS [PAGE_ITERATIONS]]   (default 50 and 500)")
    exit(2)
}
let listIterations = arguments.first.flatMap(Int.init) ?? 50
let pageIterations = arguments.dropFirst().first.flatMap(Int.init) ?? 500
let rolloutCount = 1_000

let now = Date(timeIntervalSince1970: 1_786_960_800)
func time(_ secondsAgo: Double) -> String { RFC3339.format(now.addingTimeInterval(-secondsAgo)) }
func hash(_ seed: Int) -> String {
    let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
    var value = UInt64(truncatingIfNeeded: seed &* 2_654_435_761 &+ 40_503)
    var text = ""
    for _ in 0..<10 {
        text.append(alphabet[Int(value % UInt64(alphabet.count))])
        value = value / UInt64(alphabet.count) &+ value &* 31
    }
    return text
}

// MARK: The 1,000 rollouts

let namespaces = ["payments", "checkout", "search", "identity", "catalog", "default", "ml-serving", "edge"]
let services = [
    "api", "web", "worker", "gateway", "ledger", "cart", "indexer", "auth", "pricing", "recommender", "images",
    "notifier",
]

/// The JSON of one canary rollout with its status: 4 to 6 steps of setWeight, pause and analysis,
/// in one of the four phases.
func rolloutJSON(_ index: Int) -> [String: Any] {
    let namespace = namespaces[index % namespaces.count]
    let name = "\(services[index % services.count])-\(index)"
    let revision = 2 + index % 17
    let image = "registry.example.com/\(namespace)/\(services[index % services.count]):v1.\(revision).\(index % 7)"
    let previous = "registry.example.com/\(namespace)/\(services[index % services.count]):v1.\(revision - 1).0"
    let allSteps: [[String: Any]] = [
        ["setWeight": 10 + index % 3 * 5],
        ["pause": ["duration": "\(1 + index % 5)m"]],
        ["analysis": ["templates": [["templateName": "success-rate"], ["templateName": "latency-p99"]]]],
        ["setWeight": 50],
        ["pause": [String: Any]()],
        ["setWeight": 80],
    ]
    let steps = Array(allSteps.prefix(4 + index % 3))
    let replicas = 2 + index % 9
    let created = Double(3_600 + index * 7_919 % (30 * 86_400))
    let stableHash = hash(index * 2)
    let newHash = hash(index * 2 + 1)
    var status: [String: Any] = [
        "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas,
        "selector": "app=\(name)", "observedGeneration": "\(revision * 2)", "currentStepHash": hash(index * 3),
    ]
    var conditions: [[String: Any]] = [
        [
            "type": "Available", "status": "True", "reason": "AvailableReason",
            "message": "Rollout has minimum availability", "lastUpdateTime": time(created / 2),
            "lastTransitionTime": time(created / 2),
        ]
    ]
    func weights(_ canary: Int) -> [String: Any] {
        [
            "canary": ["weight": canary, "serviceName": "\(name)-canary", "podTemplateHash": newHash],
            "stable": ["weight": 100 - canary, "serviceName": "\(name)-stable", "podTemplateHash": stableHash],
            "verified": true,
        ]
    }
    let phase: String
    switch index % 10 {
    case 0..<5:
        phase = "Healthy"
        status["currentStepIndex"] = steps.count
        status["stableRS"] = newHash
        status["currentPodHash"] = newHash
        status["canary"] = ["weights": weights(0)]
        status["message"] = "updated to revision \(revision) (\(image))"
        conditions.append([
            "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
            "message": "ReplicaSet \"\(name)-\(newHash)\" has successfully progressed.",
            "lastUpdateTime": time(created / 3), "lastTransitionTime": time(created / 3),
        ])
        conditions.append([
            "type": "Healthy", "status": "True", "reason": "RolloutHealthy", "message": "Rollout is healthy",
        ])
        conditions.append([
            "type": "Completed", "status": "True", "reason": "RolloutCompleted",
            "message": "Rollout completed update to revision \(revision) (\(newHash)): Initial deploy",
        ])
    case 5, 6:
        phase = "Progressing"
        status["currentStepIndex"] = 2
        status["stableRS"] = stableHash
        status["currentPodHash"] = newHash
        status["updatedReplicas"] = max(1, replicas / 5)
        status["canary"] = [
            "weights": weights(10 + index % 3 * 5),
            "currentStepAnalysisRunStatus": ["name": "\(name)-\(newHash)-\(revision)-2", "status": "Running"],
        ]
        status["message"] = "more replicas need to be updated: waiting for analysis \(name)-\(newHash)-\(revision)-2"
        conditions.append([
            "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "message": "ReplicaSet \"\(name)-\(newHash)\" is progressing.", "lastUpdateTime": time(120),
            "lastTransitionTime": time(300),
        ])
    case 7, 8:
        phase = "Paused"
        let at = index % 4 == 0 ? 1 : 4
        status["currentStepIndex"] = at
        status["stableRS"] = stableHash
        status["currentPodHash"] = newHash
        status["controllerPause"] = true
        status["pauseConditions"] = [["reason": "CanaryPauseStep", "startTime": time(Double(20 + index % 90))]]
        status["canary"] = ["weights": weights(at == 1 ? 10 + index % 3 * 5 : 50)]
        status["message"] = "CanaryPauseStep"
        conditions.append([
            "type": "Paused", "status": "True", "reason": "RolloutPaused", "message": "Rollout is paused",
            "lastUpdateTime": time(60), "lastTransitionTime": time(60),
        ])
    default:
        phase = "Degraded"
        status["currentStepIndex"] = 0
        status["abort"] = true
        status["abortedAt"] = time(900)
        status["stableRS"] = stableHash
        status["currentPodHash"] = newHash
        status["canary"] = ["weights": weights(0)]
        status["message"] =
            "RolloutAborted: Rollout aborted update to revision \(revision): Metric \"success-rate\" assessed Failed due to failed (3) > failureLimit (2)"
        conditions.append([
            "type": "Progressing", "status": "False", "reason": "RolloutAborted",
            "message": "Rollout aborted update to revision \(revision)", "lastUpdateTime": time(900),
            "lastTransitionTime": time(900),
        ])
    }
    status["phase"] = phase
    status["conditions"] = conditions
    return [
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": [
            "name": name, "namespace": namespace, "generation": revision * 2,
            "uid": "\(hash(index))-\(hash(index + 7))",
            "resourceVersion": "\(100_000 + index * 13)", "creationTimestamp": time(created),
            "labels": ["app": name, "team": namespace], "annotations": ["rollout.argoproj.io/revision": "\(revision)"],
        ],
        "spec": [
            "replicas": replicas, "revisionHistoryLimit": 5,
            "selector": ["matchLabels": ["app": name]],
            "template": [
                "metadata": ["labels": ["app": name, "team": namespace]],
                "spec": [
                    "containers": [
                        [
                            "name": "app", "image": phase == "Healthy" ? image : (index % 2 == 0 ? image : previous),
                            "ports": [["name": "http", "containerPort": 8080]],
                            "readinessProbe": ["httpGet": ["path": "/healthz", "port": "http"], "periodSeconds": 2],
                        ]
                    ]
                ],
            ],
            "strategy": [
                "canary": [
                    "canaryService": "\(name)-canary", "stableService": "\(name)-stable", "steps": steps,
                ]
            ],
        ],
        "status": status,
    ]
}

func jsonData(_ object: Any) -> Data {
    do {
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    } catch {
        fatalError("bench JSON does not serialize: \(error)")
    }
}
func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T {
    do {
        return try APIJSON.decoder().decode(type, from: data)
    } catch {
        fatalError("bench JSON does not decode as \(type): \(error)")
    }
}
/// `{"items": [...]}` as the API writes it: each object encoded with the API's encoder.
func itemsJSON<T: Encodable>(_ items: [T]) -> Data {
    let encoder = APIJSON.encoder()
    var data = Data(#"{"items":["#.utf8)
    for (offset, item) in items.enumerated() {
        if offset > 0 { data.append(UInt8(ascii: ",")) }
        do { data.append(try encoder.encode(item)) } catch { fatalError("bench item does not encode: \(error)") }
    }
    data.append(contentsOf: Array("]}".utf8))
    return data
}
func encoded<T: Encodable>(_ value: T) -> Data {
    do { return try APIJSON.encoder().encode(value) } catch { fatalError("bench value does not encode: \(error)") }
}

let rollouts = decode(ItemList<Rollout>.self, jsonData(["items": (0..<rolloutCount).map(rolloutJSON)])).items
/// What `GET /api/v1/rollouts` answers for them.
let listAnswer = itemsJSON(rollouts)

// MARK: The busy rollout

let pageNamespace = "payments"
let pageName = "checkout"
let stableHash = "6f9c7d8b54"
let canaryHash = "7b4d9f6c88"
let oldHash = "5d8c6b7f43"
let pageRolloutJSON: [String: Any] = [
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
    "metadata": [
        "name": pageName, "namespace": pageNamespace, "generation": 14, "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "creationTimestamp": time(40 * 86_400), "labels": ["app": pageName],
    ],
    "spec": [
        "replicas": 5,
        "selector": ["matchLabels": ["app": pageName]],
        "template": [
            "metadata": ["labels": ["app": pageName]],
            "spec": [
                "containers": [
                    [
                        "name": "checkout", "image": "registry.example.com/payments/checkout:v2.14.0",
                        "ports": [["name": "http", "containerPort": 8080]],
                    ],
                    ["name": "envoy", "image": "envoyproxy/envoy:v1.31.2"],
                ]
            ],
        ],
        "strategy": [
            "canary": [
                "canaryService": "checkout-canary", "stableService": "checkout-stable",
                "analysis": ["templates": [["templateName": "latency-p99"]], "startingStep": 1],
                "steps": [
                    ["setWeight": 10], ["pause": ["duration": "2m"]], ["setWeight": 25],
                    ["analysis": ["templates": [["templateName": "success-rate"], ["templateName": "latency-p99"]]]],
                    ["setWeight": 50], ["pause": [String: Any]()],
                ],
            ]
        ],
    ],
    "status": [
        "phase": "Progressing",
        "message": "more replicas need to be updated: waiting for analysis checkout-7b4d9f6c88-14-3",
        "currentStepIndex": 3, "stableRS": stableHash, "currentPodHash": canaryHash, "currentStepHash": "8c5f7d9b6",
        "replicas": 10, "updatedReplicas": 5, "readyReplicas": 9, "availableReplicas": 9, "observedGeneration": "14",
        "selector": "app=checkout",
        "canary": [
            "weights": [
                "canary": ["weight": 25, "serviceName": "checkout-canary", "podTemplateHash": canaryHash],
                "stable": ["weight": 75, "serviceName": "checkout-stable", "podTemplateHash": stableHash],
                "verified": true,
            ],
            "currentStepAnalysisRunStatus": ["name": "checkout-7b4d9f6c88-14-3", "status": "Running"],
            "currentBackgroundAnalysisRunStatus": ["name": "checkout-7b4d9f6c88-14", "status": "Running"],
        ],
        "conditions": [
            [
                "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                "message": "ReplicaSet \"checkout-7b4d9f6c88\" is progressing.", "lastUpdateTime": time(30),
                "lastTransitionTime": time(600),
            ],
            [
                "type": "Available", "status": "True", "reason": "AvailableReason",
                "message": "Rollout has minimum availability", "lastUpdateTime": time(86_400),
                "lastTransitionTime": time(86_400),
            ],
        ],
    ],
]
let pageRollout = decode(Rollout.self, jsonData(pageRolloutJSON))

let replicaSets = [
    (oldHash, 12, "v2.12.3", 2 * 86_400.0, false), (stableHash, 13, "v2.13.1", 86_400.0, true),
    (canaryHash, 14, "v2.14.0", 600.0, true),
].map { podHash, revision, version, age, ready in
    ReplicaSetView(
        name: "\(pageName)-\(podHash)", namespace: pageNamespace, rollout: pageName, podTemplateHash: podHash,
        revision: revision, replicas: 5, readyReplicas: ready ? (revision == 14 ? 4 : 5) : 0,
        availableReplicas: ready ? (revision == 14 ? 4 : 5) : 0,
        images: ["registry.example.com/payments/checkout:\(version)", "envoyproxy/envoy:v1.31.2"],
        createdAt: now.addingTimeInterval(-age),
        scaleDownDeadline: ready ? nil : now.addingTimeInterval(20))
}
var pods: [PodView] = []
for (setIndex, replicaSet) in replicaSets.enumerated() {
    for podIndex in 0..<5 {
        let suffix = hash(setIndex * 10 + podIndex).prefix(5)
        let port = 41_000 + setIndex * 10 + podIndex
        let ready = replicaSet.readyReplicas > podIndex
        pods.append(
            PodView(
                name: "\(replicaSet.name)-\(suffix)", namespace: pageNamespace, replicaSet: replicaSet.name,
                rollout: pageName,
                labels: ["app": pageName, "rollouts-pod-template-hash": replicaSet.podTemplateHash], port: port,
                image: replicaSet.images[0], ready: ready, restarts: podIndex == 3 ? 2 : 0,
                createdAt: replicaSet.createdAt.addingTimeInterval(Double(podIndex * 3)),
                address: "127.0.0.1:\(port)", node: "bench-host", pid: ready ? 20_000 + port : nil,
                lastTermination: podIndex == 3 ? "exited with status 137 (killed)" : nil))
    }
}

/// An AnalysisRun of two metrics with 30 measurements each, 30 s apart.
func analysisRunJSON(name: String, step: Int?, phase: String, started: Double) -> [String: Any] {
    let metrics: [(String, String, String, String, (Int) -> Double)] = [
        (
            "success-rate", "result[0] >= 0.95", "result[0] < 0.90",
            "sum(rate(http_requests_total{app=\"checkout\",code!~\"5..\"}[1m])) / sum(rate(http_requests_total{app=\"checkout\"}[1m]))",
            { 0.985 - Double($0 % 7) * 0.004 - ($0 == 17 ? 0.06 : 0) }
        ),
        (
            "latency-p99", "result[0] <= 0.3", "result[0] > 0.5",
            "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{app=\"checkout\"}[1m])) by (le))",
            { 0.18 + Double($0 % 5) * 0.02 + ($0 == 22 ? 0.25 : 0) }
        ),
    ]
    var results: [[String: Any]] = []
    for (metric, success, failure, _, value) in metrics {
        var measurements: [[String: Any]] = []
        var counts = (successful: 0, failed: 0, inconclusive: 0)
        for index in 0..<30 {
            let result = value(index + (step ?? 0))
            let passed = metric == "success-rate" ? result >= 0.95 : result <= 0.3
            let failed = metric == "success-rate" ? result < 0.90 : result > 0.5
            let measurementPhase = passed ? "Successful" : failed ? "Failed" : "Inconclusive"
            if passed { counts.successful += 1 } else if failed { counts.failed += 1 } else { counts.inconclusive += 1 }
            let at = started - Double(index * 30)
            var measurement: [String: Any] = [
                "phase": measurementPhase, "value": String(format: "[%.4f]", result), "startedAt": time(at + 1),
                "finishedAt": time(at),
            ]
            if !passed { measurement["message"] = "\(metric) \(String(format: "%.4f", result)) missed \(success)" }
            measurements.append(measurement)
        }
        var result: [String: Any] = [
            "name": metric, "phase": phase == "Running" ? "Running" : "Successful", "measurements": measurements,
            "count": 30, "successful": counts.successful, "failed": counts.failed,
            "inconclusive": counts.inconclusive, "consecutiveSuccess": 4,
        ]
        if counts.failed > 0 { result["message"] = "\(counts.failed) of 30 measurements failed (failureLimit 3)" }
        results.append(result)
        _ = failure
    }
    var labels = ["rollout": pageName, "rollout-type": step == nil ? "Background" : "Step"]
    if let step { labels["step-index"] = "\(step)" }
    return [
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
        "metadata": [
            "name": name, "namespace": pageNamespace, "creationTimestamp": time(started + 30 * 30),
            "labels": labels,
        ],
        "spec": [
            "args": [["name": "service", "value": "checkout-canary"]],
            "metrics": metrics.map { metric, success, failure, query, _ in
                [
                    "name": metric, "interval": "30s", "count": 60, "failureLimit": 3, "successCondition": success,
                    "failureCondition": failure,
                    "provider": ["prometheus": ["address": "http://prometheus.monitoring:9090", "query": query]],
                ] as [String: Any]
            },
        ],
        "status": [
            "phase": phase, "startedAt": time(started + 30 * 30),
            "runSummary": ["count": 2, "successful": phase == "Running" ? 0 : 2],
            "metricResults": results,
        ],
    ]
}
let analysisRuns = [
    analysisRunJSON(name: "checkout-7b4d9f6c88-14", step: nil, phase: "Running", started: 5),
    analysisRunJSON(name: "checkout-7b4d9f6c88-14-3", step: 3, phase: "Running", started: 2),
].map { decode(AnalysisRun.self, jsonData($0)) }

let reasons: [(String, String, String)] = [
    ("Normal", "RolloutUpdated", "Rollout updated to revision 14"),
    ("Normal", "ScalingReplicaSet", "Scaled up ReplicaSet checkout-7b4d9f6c88 (revision 14) from 4 to 5"),
    ("Normal", "RolloutStepCompleted", "Rollout step 3/6 completed (setWeight: 25)"),
    ("Normal", "TrafficWeightUpdated", "Traffic weight updated from 10 to 25"),
    ("Normal", "AnalysisRunRunning", "Step Analysis Run 'checkout-7b4d9f6c88-14-3' Status New: 'Running' Previous: ''"),
    ("Warning", "MetricInconclusive", "Metric \"latency-p99\" measured 0.42 > 0.3 but not > 0.5 <inconclusive>"),
    ("Normal", "RolloutPaused", "Rollout is paused (CanaryPauseStep)"),
    ("Normal", "RolloutResumed", "Rollout is resumed"),
]
let events = (0..<100).map { index in
    let (type, reason, message) = reasons[index % reasons.count]
    return EventList.Event(type: type, reason: reason, message: message, time: time(Double((100 - index) * 45)))
}
let snapshot = RolloutSnapshot(rollout: pageRollout, replicaSets: replicaSets, pods: pods, analysisRuns: analysisRuns)
/// What the daemon's API answers for the page: the rollout, its ReplicaSets, pods, AnalysisRuns and events.
let pageAnswers: [Data] = [
    encoded(pageRollout), encoded(ReplicaSetList(replicaSets: replicaSets)), encoded(PodList(pods: pods)),
    itemsJSON(analysisRuns), encoded(EventList(events: events)),
]

// MARK: Timing

let context = PageContext(csrf: "q7J2cWm0xkY8vN4b1Z9dLr3T6pHs5aEf", readOnly: false, signedIn: true, now: now)
let listLive = "/dashboard/events"
let pageLive = "/dashboard/events?namespace=\(pageNamespace)&name=\(pageName)"
let pagePath = Pages.rolloutPath(namespace: pageNamespace, name: pageName)

func listDocument(_ rollouts: [Rollout]) -> HTML {
    Pages.document(
        title: "Rollouts", content: ListPage.content(rollouts, filter: ListPage.Filter(), context: context),
        context: context, live: listLive, fragment: "/?fragment=1")
}
func pageDocument() -> HTML {
    Pages.document(
        title: pageName, content: RolloutPage.content(snapshot, events: events, context: context), context: context,
        live: pageLive, fragment: pagePath + "?fragment=1")
}

struct Timing {
    var milliseconds: [Double]
    var median: Double {
        let sorted = milliseconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
    var p90: Double {
        let sorted = milliseconds.sorted()
        return sorted[max(0, Int((0.9 * Double(sorted.count)).rounded(.up)) - 1)]
    }
    var min: Double { milliseconds.min() ?? 0 }
    var summary: String { String(format: "median %.2f ms, p90 %.2f ms, min %.2f ms", median, p90, min) }
}

let clock = ContinuousClock()
/// Runs `body` a few times untimed, then `iterations` times timed; `sink` keeps the results used.
func measure(_ iterations: Int, _ body: () -> Int) -> (Timing, Int) {
    var sink = 0
    for _ in 0..<Swift.min(3, iterations) { sink &+= body() }
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let start = clock.now
        sink &+= body()
        let elapsed = start.duration(to: clock.now)
        samples.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
    }
    return (Timing(milliseconds: samples), sink)
}

func grouped(_ number: Int) -> String {
    let digits = Array(String(number))
    var text = ""
    for (offset, digit) in digits.enumerated() {
        if offset > 0, (digits.count - offset) % 3 == 0 { text.append(",") }
        text.append(digit)
    }
    return text
}
func size(_ bytes: Int) -> String { "\(grouped(Int((Double(bytes) / 1024).rounded()))) KB (\(grouped(bytes)) bytes)" }
func verdict(_ median: Double, goal: Double) -> String {
    String(format: "goal ≤ %.0f ms: %@", goal, median <= goal ? "met" : "MISSED")
}

let listBytes = listDocument(rollouts).text.utf8.count
let pageBytes = pageDocument().text.utf8.count
let phases = Dictionary(grouping: rollouts, by: { $0.status?.phase?.rawValue ?? "none" }).mapValues(\.count)
print(
    "dashboard render: \(grouped(rolloutCount)) canary rollouts in \(namespaces.count) namespaces ("
        + phases.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        + "); \(listIterations) list and \(pageIterations) page iterations, one thread")

let (list, listSink) = measure(listIterations) { listDocument(rollouts).text.utf8.count }
print(
    "list page, \(grouped(rolloutCount)) rollouts: \(list.summary) (\(verdict(list.median, goal: 100))), \(size(listBytes))"
)

let (page, pageSink) = measure(pageIterations) { pageDocument().text.utf8.count }
print(
    "rollout page (3 ReplicaSets, \(pods.count) pods, 2 AnalysisRuns of 2 x 30 measurements, \(events.count) events): "
        + "\(page.summary) (\(verdict(page.median, goal: 20))), \(size(pageBytes))")

let (listDecode, decodeSink) = measure(listIterations) {
    decode(ItemList<Rollout>.self, listAnswer).items.count
}
print(
    "decoding GET /api/v1/rollouts whole (every field of Rollout), \(grouped(rolloutCount)) rollouts in \(size(listAnswer.count)) of JSON: "
        + "\(listDecode.summary)"
)
// What the list page decodes: the fields it shows (RolloutListing), made back into rollouts.
let (listingDecode, listingSink) = measure(listIterations) {
    decode(ItemList<RolloutListing>.self, listAnswer).items.map(\.rollout).count
}
print(
    "decoding it as the list page does (RolloutListing): \(listingDecode.summary); the list page's server time "
        + "is about decode + render, median \(String(format: "%.1f", listingDecode.median + list.median)) ms"
)

let (pageDecode, pageDecodeSink) = measure(pageIterations) {
    decode(Rollout.self, pageAnswers[0]).spec.replicasOrDefault
        + decode(ReplicaSetList.self, pageAnswers[1]).replicaSets.count
        + decode(PodList.self, pageAnswers[2]).pods.count
        + decode(ItemList<AnalysisRun>.self, pageAnswers[3]).items.count
        + decode(EventList.self, pageAnswers[4]).events.count
}
let pageAnswerBytes = pageAnswers.map(\.count).reduce(0, +)
print(
    "decoding the rollout page's 5 API answers, \(size(pageAnswerBytes)) of JSON: \(pageDecode.summary); "
        + "decode + render median \(String(format: "%.1f", pageDecode.median + page.median)) ms")
if listSink == 0 || pageSink == 0 || decodeSink == 0 || listingSink == 0 || pageDecodeSink == 0 { print("(nothing rendered?)") }
