import AviaryTestSupport
import Foundation
import Testing

@testable import aviary

/// `aviary install kubernetes`: kubectl applies it; Argo's published CRDs replace Aviary's and Aviary's
/// replace Argo's with the Rollouts already there unchanged and still driven by the CLI.
@Suite(.serialized, .enabled(if: kubectlPath != nil, "kubectl is not installed (Debian: apt-get install kubectl)"))
struct InstallKubernetesTests {
    @Test func kubectlAppliesTheInstallAndServesArgosKinds() async throws {
        try await withCluster { cluster in
            let applied = try cluster.installAviary(["--namespace", "rollouts", "--image", "registry.example/aviary:1"])
            #expect(applied.status == 0 && applied.stderr.isEmpty, "\(applied)")
            for line in [
                "namespace/rollouts created",
                "customresourcedefinition.apiextensions.k8s.io/rollouts.argoproj.io created",
                "customresourcedefinition.apiextensions.k8s.io/analysistemplates.argoproj.io created",
                "customresourcedefinition.apiextensions.k8s.io/clusteranalysistemplates.argoproj.io created",
                "customresourcedefinition.apiextensions.k8s.io/analysisruns.argoproj.io created",
                "customresourcedefinition.apiextensions.k8s.io/experiments.argoproj.io created",
                "serviceaccount/aviary-controller created",
                "clusterrole.rbac.authorization.k8s.io/aviary-controller created",
                "clusterrolebinding.rbac.authorization.k8s.io/aviary-controller created",
                "role.rbac.authorization.k8s.io/aviary-controller-leader-election created",
                "rolebinding.rbac.authorization.k8s.io/aviary-controller-leader-election created",
                "service/aviary-controller-metrics created",
                "deployment.apps/aviary-controller created",
            ] {
                #expect(applied.stdout.contains(line + "\n"), "\(line): \(applied.stdout)")
            }
            let resources = try cluster.kubectl(["api-resources", "--api-group=argoproj.io", "--no-headers"])
            let rows = Set(
                resources.stdout.split(separator: "\n").map {
                    $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ")
                })
            #expect(
                rows == [
                    "rollouts ro", "analysistemplates at", "clusteranalysistemplates cat", "analysisruns ar",
                    "experiments exp",
                ], "\(resources)")

            let deployment = try cluster.object("deployment", "aviary-controller", namespace: "rollouts")
            let spec = deployment["spec"] as? [String: Any] ?? [:]
            #expect(spec["replicas"] as? Int == 2)
            let container =
                (((spec["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?
                .first ?? [:]
            #expect(container["image"] as? String == "registry.example/aviary:1")
            #expect((container["args"] as? [String])?.starts(with: ["serve", "--platform", "kubernetes"]) == true)
            #expect(container["livenessProbe"] != nil && container["readinessProbe"] != nil)

            // Applying it again changes nothing.
            let again = try cluster.installAviary(["--namespace", "rollouts", "--image", "registry.example/aviary:1"])
            #expect(again.status == 0 && !again.stdout.contains("configured"), "\(again)")
        }
    }

    @Test func argosCRDsReplaceAviarysAndBackWithTheRolloutIntact() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            // Argo's Rollout CRD is too large for a client-side apply's annotation; Argo documents
            // server-side apply for it.
            let argo = try cluster.kubectl(["apply", "--server-side", "--force-conflicts", "-f", argoCRDFolder])
            #expect(argo.status == 0, "Argo's CRDs over Aviary's: \(argo)")
            let crd = try cluster.object("crd", "rollouts.argoproj.io")
            #expect((crd["metadata"] as? [String: Any])?["annotations"].map { "\($0)" }?.contains("controller-gen") == true)
            let underArgo = try cluster.web()
            #expect(underArgo.spec == before.spec && underArgo.status == before.status)
            let abort = try cluster.aviary(["abort", "web"])
            #expect(abort.status == 0, "the CLI drives the rollout under Argo's CRDs: \(abort)")
            #expect(try cluster.web().status == merged(before.status, ["abort": true]))

            let back = try cluster.installAviary()
            #expect(back.status == 0, "Aviary's CRDs over Argo's: \(back)")
            let schema =
                (((try cluster.object("crd", "rollouts.argoproj.io")["spec"] as? [String: Any])?["versions"]
                as? [[String: Any]])?.first?["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any]
            let status = (schema?["properties"] as? [String: Any])?["status"] as? [String: Any]
            #expect(status?["x-kubernetes-preserve-unknown-fields"] as? Bool == true, "Aviary's schema is back: \(schema ?? [:])")
            #expect((status?["properties"] as? [String: Any])?["abort"] == nil, "Argo's status properties are gone")
            let underAviary = try cluster.web()
            #expect(underAviary.spec == before.spec && underAviary.status == merged(before.status, ["abort": true]))
            let retry = try cluster.aviary(["retry", "web"])
            #expect(retry.status == 0, "\(retry)")
            #expect(try cluster.web().status == merged(before.status, ["abort": false]))
        }
    }

    @Test func theRolloutCRDHasArgosSubresourcesAndTheOthersNone() throws {
        let install = KubernetesInstall(namespace: "aviary-system", image: "aviary:1")
        let documents = install.manifests.components(separatedBy: "---\n")
        #expect(documents.count == 13)
        let rollout = try #require(documents.first { $0.contains("name: rollouts.argoproj.io") })
        #expect(rollout.contains("    subresources:\n      status: {}\n      scale:\n"))
        for plural in ["analysisruns", "analysistemplates", "clusteranalysistemplates", "experiments"] {
            let document = try #require(documents.first { $0.contains("name: \(plural).argoproj.io") })
            #expect(document.contains("    subresources: {}\n"), "\(plural): no status subresource, as Argo's")
        }
    }

    @Test(arguments: ["Aviary", "-system", "a_b", String(repeating: "a", count: 64), ""])
    func aBadNamespaceIsRefused(_ namespace: String) {
        #expect(throws: (any Error).self) { try InstallKubernetes.parse(["--namespace", namespace]) }
    }

    @Test func theDockerfileSaysItCannotBeBuiltHere() throws {
        let command = try InstallKubernetes.parse(["--dockerfile"])
        #expect(command.dockerfile)
        #expect(KubernetesInstall.dockerfile.contains("have none, so this file is printed, never built there"))
        #expect(KubernetesInstall.dockerfile.contains("swift build -c release --product aviary"))
    }
}
