import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// A standalone Experiment on a cluster, as Argo's controller runs it: a ReplicaSet per template
/// named `EXPERIMENT-TEMPLATE` and owned by the Experiment with Argo's annotations, the template's
/// Service while its pods run, Argo's status (phase, availableAt, template statuses) on the
/// object, and the ReplicaSets scaled to 0 after `scaleDownDelaySeconds`.
extension CanaryOnKubernetesTests {
    static let experiment = """
        apiVersion: argoproj.io/v1alpha1
        kind: Experiment
        metadata: {name: ab}
        spec:
          duration: 5s
          scaleDownDelaySeconds: 2
          templates:
          - name: baseline
            replicas: 2
            selector: {matchLabels: {app: ab, side: baseline}}
            template:
              metadata: {labels: {app: ab, side: baseline}}
              spec: {containers: [{name: app, image: "sample-app:v1", ports: [{containerPort: 8080}]}]}
            service: {}
          - name: candidate
            selector: {matchLabels: {app: ab, side: candidate}}
            template:
              metadata: {labels: {app: ab, side: candidate}}
              spec: {containers: [{name: app, image: "sample-app:v2"}]}
        """

    @Test func aStandaloneExperimentRunsItsTemplatesForItsDurationAsArgoDoes() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.startController()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.experiment)

            var running: JSONValue?
            let isRunning = try await eventually(within: 120) {
                running = try cluster.object("experiment", "ab")
                return running?[at: "status", "phase"]?.stringValue == "Running"
            }
            try #require(isRunning, "the experiment runs: \(String(describing: running?["status"]))")
            #expect(running?[at: "status", "availableAt"]?.stringValue != nil)
            let statuses = running?[at: "status", "templateStatuses"]?.arrayValue ?? []
            #expect(statuses.compactMap { $0["status"]?.stringValue } == ["Running", "Running"])
            #expect(statuses.first?["serviceName"]?.stringValue == "ab-baseline")

            let baseline = try #require(try cluster.object("replicaset", "ab-baseline"))
            #expect(baseline[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Experiment")
            #expect(baseline[at: "metadata", "ownerReferences", 0, "name"]?.stringValue == "ab")
            #expect(baseline[at: "metadata", "annotations", "experiment.argoproj.io/name"]?.stringValue == "ab")
            #expect(baseline[at: "metadata", "annotations", "experiment.argoproj.io/template-name"]?.stringValue == "baseline")
            #expect(baseline[at: "spec", "replicas"]?.integerValue == 2)
            let hash = try #require(baseline[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue)
            #expect(baseline[at: "spec", "selector", "matchLabels", "side"]?.stringValue == "baseline")
            let service = try #require(try cluster.object("service", "ab-baseline"), "the template's Service")
            #expect(service[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Experiment")
            #expect(service[at: "spec", "selector", "rollouts-pod-template-hash"]?.stringValue == hash)
            #expect(service[at: "spec", "ports", 0, "port"]?.integerValue == 8080)
            #expect(try cluster.object("service", "ab-candidate") == nil, "the candidate asks for no Service")

            var ended: JSONValue?
            let isSuccessful = try await eventually(within: 60) {
                ended = try cluster.object("experiment", "ab")
                return ended?[at: "status", "phase"]?.stringValue == "Successful"
            }
            #expect(isSuccessful, "ends at its duration: \(String(describing: ended?["status"]))")
            let scaledDown = try await eventually(within: 60) {
                try cluster.object("replicaset", "ab-baseline")?[at: "spec", "replicas"]?.integerValue == 0
                    && cluster.object("replicaset", "ab-candidate")?[at: "spec", "replicas"]?.integerValue == 0
            }
            #expect(scaledDown, "both ReplicaSets go to 0 after the delay")
            let scaledDownAt = try cluster.object("replicaset", "ab-baseline")?[
                at: "metadata", "annotations", "scale-down-deadline"]?.stringValue
            #expect(scaledDownAt != nil, "the delay is Argo's annotation")
            #expect(try await eventually(within: 60) { try cluster.object("service", "ab-baseline") == nil })
        }
    }

    /// The seed canary with an A/B `experiment` step first: the step's Experiment is owned by the
    /// rollout, the TrafficSplit gives each template its 10% out of stable's while it runs, and
    /// once it ends the rollout goes on to its next step.
    /// The seed's canary with an 8 s experiment of `templates` (flow mappings) before its first step.
    static func withExperimentStep(image: String, templates: [String]) -> String {
        let listed = templates.map { "              - \($0)\n" }.joined()
        return manifest(image: image).replacingOccurrences(
            of: "      steps:\n      - setWeight: 10\n",
            with: "      steps:\n      - experiment:\n          duration: 8s\n          templates:\n\(listed)      - setWeight: 10\n")
    }

    @Test func anExperimentStepSplitsTrafficThroughTheTrafficSplitThenTheRolloutGoesOn() async throws {
        func manifest(_ image: String) -> String {
            Self.withExperimentStep(
                image: image,
                templates: [
                    "{name: baseline, specRef: stable, weight: 10, metadata: {labels: {side: baseline}}}",
                    "{name: candidate, specRef: canary, weight: 10, metadata: {labels: {side: candidate}}}",
                ])
        }
        try await withCluster { cluster in
            try cluster.installCRDs()
            #expect(manifest("sample-app:v1").contains("experiment:"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v1"))
            try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v2"))

            let during = try await waitFor("the experiment's templates take their share", cluster) { view in
                view.splitWeights.count == 4 && view.status[at: "canary", "weights", "additional"] != nil
            }
            let experiments = try cluster.list("experiments")
            #expect(experiments.count == 1)
            let name = try #require(experiments.first?[at: "metadata", "name"]?.stringValue)
            #expect(experiments.first?[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Rollout")
            #expect(during.status[at: "canary", "currentExperiment"]?.stringValue == name)
            #expect(
                during.splitWeights == [
                    "sample-app-canary": 0, "sample-app-stable": 80, "\(name)-baseline": 10, "\(name)-candidate": 10,
                ], "\(during)")
            let additional = during.status[at: "canary", "weights", "additional"]?.arrayValue ?? []
            #expect(additional.compactMap { $0["weight"]?.integerValue } == [10, 10])

            let after = try await waitFor("the rollout goes on past the experiment", cluster) { view in
                view.stepIndex == 2 && view.splitWeights.count == 2
            }
            #expect(after.splitWeights == ["sample-app-canary": 10, "sample-app-stable": 90], "\(after)")
            #expect(try cluster.list("experiments").first?[at: "status", "phase"]?.stringValue == "Successful")
        }
    }

    /// With Istio, the experiment's templates get their weights as destinations of the weighted
    /// route (added by host, as Argo adds them), which go again once the experiment is over.
    @Test func anExperimentStepSplitsTrafficThroughAnIstioVirtualService() async throws {
        func manifest(_ image: String) -> String {
            Self.withExperimentStep(
                image: image,
                templates: ["{name: baseline, specRef: stable, weight: 10}", "{name: candidate, specRef: canary, weight: 15}"]
            ).replacingOccurrences(
                of: "smi: {rootService: sample-app}", with: "istio: {virtualService: {name: sample-app, routes: [primary]}}")
        }
        let virtualService = """
            apiVersion: networking.istio.io/v1alpha3
            kind: VirtualService
            metadata: {name: sample-app}
            spec:
              hosts: [sample-app]
              http:
              - name: primary
                route:
                - destination: {host: sample-app-stable}
                  weight: 100
                - destination: {host: sample-app-canary}
                  weight: 0
            """
        func weights(_ cluster: ClusterUnderTest) throws -> [String: Int64] {
            var weights: [String: Int64] = [:]
            let route = try cluster.object("virtualservices.networking.istio.io", "sample-app")?[at: "spec", "http", 0, "route"]
            for destination in route?.arrayValue ?? [] {
                weights[destination[at: "destination", "host"]?.stringValue ?? ""] = destination["weight"]?.integerValue
            }
            return weights
        }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(
                ["apply", "-f", "-"],
                input: TrafficProvidersOnKubernetesTests.crd(
                    group: "networking.istio.io", version: "v1alpha3", kind: "VirtualService", plural: "virtualservices"))
            try cluster.kubectl(["apply", "-f", "-"], input: virtualService)
            #expect(manifest("sample-app:v1").contains("istio:") && manifest("sample-app:v1").contains("experiment:"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v1"))
            try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v2"))

            var during: [String: Int64] = [:]
            let split = try await eventually(within: 120) {
                during = try weights(cluster)
                return during.count == 4
            }
            #expect(split, "the experiment's destinations are added: \(during)")
            let name = try #require(try cluster.list("experiments").first?[at: "metadata", "name"]?.stringValue)
            #expect(
                during == [
                    "sample-app-stable": 75, "sample-app-canary": 0, "\(name)-baseline": 10, "\(name)-candidate": 15,
                ])

            // The status is read before the VirtualService: the controller writes the route before
            // the status that claims it, so a route read after a status at step 2 has step 1's
            // weight. Read the other way round, the route could be from before that write.
            var after: [String: Int64] = [:]
            let over = try await eventually(within: 120) {
                guard try view(cluster)?.stepIndex == 2 else { return false }
                after = try weights(cluster)
                return after.count == 2
            }
            #expect(over, "the experiment's destinations go: \(after)")
            #expect(after == ["sample-app-stable": 90, "sample-app-canary": 10])
        }
    }
}
