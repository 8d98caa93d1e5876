import AviaryJSON
import Foundation
import Testing

@testable import AviaryModel

/// `@Indirect` keeps large optional fields out of line; these check that it changes nothing a
/// manifest can see, and that the structs stay small.
@Suite struct IndirectTests {
    /// A Rollout that sets every field kept `@Indirect` but a step's `plugin` (lint refuses
    /// it: `stepPluginReadsAndWritesAsWritten`), and a status with both strategy parts.
    static let everyIndirectField = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: boxed}
        spec:
          selector: {matchLabels: {app: boxed}}
          template:
            metadata: {labels: {app: boxed}}
            spec:
              dnsPolicy: ClusterFirst
              hostNetwork: false
              priority: 7
              affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}
              securityContext: {runAsNonRoot: true}
              topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
              containers:
              - name: app
                image: app:v1
                readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 2}
                livenessProbe: {tcpSocket: {port: 8080}}
                startupProbe: {exec: {command: [true]}, failureThreshold: 30}
                resources: {limits: {cpu: "1"}}
                lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
                tty: true
                env:
                - name: LIMIT
                  valueFrom: {resourceFieldRef: {resource: limits.cpu}}
          strategy:
            canary:
              canaryService: boxed-canary
              stableService: boxed-stable
              trafficRouting:
                managedRoutes: [{name: mirror}]
                smi: {rootService: boxed}
              steps:
              - setWeight: 20
              - analysis: {templates: [{templateName: rate}]}
              - experiment:
                  duration: 5m
                  templates: [{name: baseline, specRef: stable}]
              - setMirrorRoute: {name: mirror, percentage: 10}
        status:
          canary: {currentExperiment: boxed-1}
          blueGreen: {activeSelector: abc}
        """

    @Test func everyIndirectFieldReadsAndWritesAsWritten() throws {
        let decoder = ManifestDecoder()
        let decoded = decoder.decode(Self.everyIndirectField, file: "in.yaml")
        #expect(decoded.diagnostics == [])
        guard case .rollout(let rollout) = try #require(decoded.resources.first) else {
            Issue.record("not a Rollout")
            return
        }
        let pod = try #require(rollout.spec.template?.spec)
        #expect(pod.dnsPolicy == .string("ClusterFirst"))
        #expect(pod.priority == .integer(7))
        #expect(pod.containers.first?.readinessProbe?.periodSeconds == 2)
        #expect(pod.containers.first?.startupProbe?.failureThreshold == 30)
        #expect(pod.containers.first?.tty == .bool(true))
        let canary = try #require(rollout.spec.strategy.canary)
        #expect(canary.trafficRouting?.smi?.rootService == "boxed")
        #expect(canary.stepsOrEmpty.compactMap(\.setMirrorRoute?.percentage) == [10])
        #expect(canary.stepsOrEmpty.compactMap(\.experiment?.templates.first?.name) == ["baseline"])
        #expect(rollout.status?.canary?.currentExperiment == "boxed-1")
        #expect(rollout.status?.blueGreen?.activeSelector == "abc")

        // Written back, nothing is lost, added (no `null` for the fields left unset) or changed.
        let yaml = try ManifestEncoder.yaml(decoded.resources)
        #expect(ManifestTree.differences(try ManifestTree.of(Self.everyIndirectField), try ManifestTree.of(yaml)) == [])
        let json = try ManifestEncoder.json(decoded.resources[0])
        #expect(!String(decoding: json, as: UTF8.self).contains("null"))
        #expect(decoder.decode(yaml, file: "out.yaml").resources == decoded.resources)
    }

    @Test func stepPluginReadsAndWritesAsWritten() throws {
        let json = #"{"plugin":{"config":{"a":1},"name":"example/plugin"}}"#
        let step = try JSONDecoder().decode(CanaryStep.self, from: Data(json.utf8))
        #expect(step.plugin == PluginStep(name: "example/plugin", config: ["a": 1]))
        let written = try ManifestTree.of(json: JSONEncoder().encode(step))
        #expect(ManifestTree.differences(try ManifestTree.of(json: Data(json.utf8)), written) == [])
    }

    /// An absent key and an explicit `null` both read as nil, as for a plain optional.
    @Test(arguments: [#"{"name":"app"}"#, #"{"name":"app","readinessProbe":null,"lifecycle":null}"#])
    func absentOrNullIsNil(_ json: String) throws {
        let container = try JSONDecoder().decode(Container.self, from: Data(json.utf8))
        #expect(container.readinessProbe == nil)
        #expect(container.lifecycle == nil)
        #expect(try JSONEncoder().encode(container) == Data(#"{"name":"app"}"#.utf8))
    }

    /// A copy shares the box until one side writes; the write does not reach the other.
    @Test func aWriteToACopyLeavesTheOriginal() {
        var original = Container(name: "app")
        original.readinessProbe = Probe(httpGet: HTTPGetAction(path: "/a", port: .int(1)))
        var copy = original
        #expect(copy == original)
        #expect(copy.hashValue == original.hashValue)
        copy.readinessProbe?.httpGet?.path = "/b"
        #expect(original.readinessProbe?.httpGet?.path == "/a")
        #expect(copy.readinessProbe?.httpGet?.path == "/b")
        #expect(copy != original)
        copy.readinessProbe = nil
        #expect(copy.readinessProbe == nil)
        #expect(original.readinessProbe != nil)
    }

    /// The daemon keeps a few decoded copies of every rollout (its cache, the reconciler's view,
    /// the platform's ReplicaSet): at 10,000 rollouts each kB here is tens of MB of heap. Before
    /// `@Indirect`, Rollout was 3,025 bytes, Container 1,065 and CanaryStep 289.
    @Test func theResourcesStaySmallInline() {
        #expect(MemoryLayout<Rollout>.size <= 1024)
        #expect(MemoryLayout<Container>.size <= 256)
        #expect(MemoryLayout<PodTemplateSpec>.size <= 640)
        #expect(MemoryLayout<CanaryStep>.size <= 160)
    }
}
