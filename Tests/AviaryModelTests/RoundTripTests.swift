import Foundation
import Testing

@testable import AviaryModel

@Suite struct RoundTripTests {
    @Test(arguments: Fixtures.named.keys.sorted())
    func yamlRoundTripKeepsEveryField(_ name: String) throws {
        let manifest = try #require(Fixtures.named[name])
        let decoder = ManifestDecoder()
        let first = decoder.decode(manifest, file: "in.yaml")
        #expect(first.diagnostics == [])
        #expect(first.resources.count == 1)
        let yaml = try ManifestEncoder.yaml(first.resources)
        let second = decoder.decode(yaml, file: "out.yaml")
        #expect(second.diagnostics == [])
        #expect(second.resources == first.resources)
        // Against the file itself, not the decoder: a field dropped or changed on the way through
        // the typed resource is missing from, or differs in, what it writes back.
        let differences = ManifestTree.differences(try ManifestTree.of(manifest), try ManifestTree.of(yaml))
        #expect(differences == [], "the written YAML differs from the file")
    }

    @Test(arguments: Fixtures.named.keys.sorted())
    func jsonRoundTripKeepsEveryField(_ name: String) throws {
        let manifest = try #require(Fixtures.named[name])
        let decoder = ManifestDecoder()
        let resource = try #require(try decoder.resources(from: manifest).first)
        let json = try ManifestEncoder.json(resource)
        let again = decoder.decode(String(decoding: json, as: UTF8.self), file: "out.json")
        #expect(again.diagnostics == [])
        #expect(again.resources == [resource])
        let differences = ManifestTree.differences(try ManifestTree.of(manifest), try ManifestTree.of(json: json))
        #expect(differences == [], "the written JSON differs from the file")
    }

    @Test func multiDocumentFileGivesEveryResourceInOrder() throws {
        let text = Fixtures.all.joined(separator: "\n---\n")
        let resources = try ManifestDecoder().resources(from: text)
        #expect(
            resources.map(\.kind.rawValue) == [
                "Rollout", "AnalysisTemplate", "Rollout", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment",
                "Service",
            ])
    }

    @Test func seedCanaryDecodesItsValueShapes() throws {
        let resources = try ManifestDecoder().resources(from: Fixtures.seedCanary)
        guard case .rollout(let rollout) = resources.first else {
            Issue.record("expected a Rollout")
            return
        }
        let canary = try #require(rollout.spec.strategy.canary)
        #expect(canary.maxSurge == .string("25%"))
        #expect(canary.maxUnavailable == .int(0))
        #expect(canary.stepsOrEmpty[1].pause?.duration?.seconds == 30)
        #expect(canary.stepsOrEmpty[4].pause?.duration?.seconds == 10)
        #expect(canary.stepsOrEmpty[6].pause?.isIndefinite == true)
        #expect(rollout.metadata.namespaceOrDefault == "default")
        #expect(rollout.status?.phase == .paused)
        #expect(rollout.status?.pauseConditions?.first?.reason == .canaryPauseStep)
        let container = try #require(rollout.spec.template?.spec.containers.first)
        #expect(container.readinessProbe?.httpGet?.port == .string("http"))
        #expect(
            container.resources == .object(["requests": .object(["cpu": .string("100m"), "memory": .string("64Mi")])]))
    }
}
