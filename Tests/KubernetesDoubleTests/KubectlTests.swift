import AviaryJSON
import Foundation
import KubernetesTestDouble
import Testing

private let crdFolder = sharedFolder + "/upstream/argo-rollouts/crds"
private let crdFiles = [
    "rollout-crd.yaml", "analysis-template-crd.yaml", "analysis-run-crd.yaml", "experiment-crd.yaml",
    "cluster-analysis-template-crd.yaml",
]

/// Real kubectl 1.32 against the double: what a developer or CI would run against a cluster
/// must behave here as it does there, messages included.
@Suite(.serialized, .enabled(if: kubectlPath != nil, "kubectl is not installed (Debian: apt-get install kubectl)"))
struct KubectlTests {
    /// Creates the five Argo CRDs with `kubectl create` (after `kubectl apply` of the Rollout CRD
    /// is refused for its annotation size, as on a real cluster).
    private func createArgoCRDs(_ harness: KubectlHarness) throws {
        for file in crdFiles {
            let created = try harness.kubectl(["create", "-f", crdFolder + "/" + file])
            #expect(created.status == 0, "kubectl create -f \(file): \(created.combined)")
        }
    }

    @Test func argoCRDsCreateButClientSideApplyIsRefusedForItsAnnotationSize() async throws {
        try await withHarness { harness in
            let applied = try harness.kubectl(["apply", "-f", crdFolder + "/rollout-crd.yaml"])
            #expect(applied.status != 0)
            #expect(
                applied.stderr.contains(
                    "The CustomResourceDefinition \"rollouts.argoproj.io\" is invalid: metadata.annotations: Too long: "
                        + "must have at most 262144 bytes"), "\(applied.combined)")
            try createArgoCRDs(harness)
            let resources = try harness.kubectl(["api-resources", "--api-group=argoproj.io", "--no-headers"])
            #expect(resources.status == 0, "\(resources.combined)")
            let rows = resources.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            for (name, shortName) in [
                ("rollouts", "ro"), ("analysistemplates", "at"), ("analysisruns", "ar"), ("experiments", "exp"),
                ("clusteranalysistemplates", "cat"),
            ] {
                #expect(rows.contains { $0.first.map(String.init) == name && $0.count > 1 && $0[1] == shortName },
                    "kubectl api-resources lists \(name) (\(shortName)): \(resources.stdout)")
            }
            let serverSide = try harness.kubectl(["apply", "--server-side", "-f", crdFolder + "/rollout-crd.yaml"])
            #expect(serverSide.status == 0, "kubectl apply --server-side of the Rollout CRD: \(serverSide.combined)")
        }
    }

    /// A kind without its CRD gets kubectl's own answer, as from a real API server: validation
    /// falls back to the OpenAPI v2 document, whose media type kubectl must be able to parse.
    @Test func aKindWithoutItsCRDIsNamedByKubectl() async throws {
        try await withHarness { harness in
            let manifest = "apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: web}\nspec: {}\n"
            let file = NSTemporaryDirectory() + "routetable-\(UUID().uuidString).yaml"
            try manifest.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let applied = try harness.kubectl(["apply", "-f", file])
            #expect(applied.status != 0)
            #expect(
                applied.stderr.contains(#"no matches for kind "RouteTable" in version "networking.gloo.solo.io/v2""#),
                "\(applied.combined)")
            #expect(!applied.stderr.contains("mime"), "\(applied.combined)")
        }
    }

    @Test func examplesApplyTwiceUnchangedThenConfiguredAndListTogether() async throws {
        try await withHarness { harness in
            try createArgoCRDs(harness)
            let namespace = try harness.kubectl(["create", "namespace", "demo"])
            #expect(namespace.status == 0, "kubectl create namespace (protobuf body): \(namespace.combined)")
            let first = try harness.kubectl(["apply", "-f", packageRoot + "/examples/demo/", "-n", "demo"])
            #expect(first.status == 0, "\(first.combined)")
            #expect(first.stdout.contains("rollout.argoproj.io/sample-app created"), "\(first.stdout)")
            #expect(first.stdout.contains("service/sample-app-canary created"), "\(first.stdout)")
            #expect(first.stderr.isEmpty, "no warnings: \(first.stderr)")
            let second = try harness.kubectl(["apply", "-f", packageRoot + "/examples/demo/", "-n", "demo"])
            let lines = second.stdout.split(separator: "\n")
            #expect(second.status == 0 && lines.count == 5, "\(second.combined)")
            #expect(lines.allSatisfy { $0.hasSuffix(" unchanged") }, "second apply: \(second.stdout)")

            let manifest = try String(contentsOfFile: packageRoot + "/examples/demo/rollout.yaml", encoding: .utf8)
                .replacingOccurrences(of: "image: sample-app:v1", with: "image: sample-app:v2")
            let changed = try harness.file("rollout-v2.yaml", manifest)
            let third = try harness.kubectl(["apply", "-f", changed, "-n", "demo"])
            #expect(third.stdout.contains("rollout.argoproj.io/sample-app configured"), "\(third.combined)")
            #expect(third.stdout.contains("service/sample-app unchanged"), "\(third.combined)")
            let image = try harness.kubectl([
                "get", "rollout", "sample-app", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].image}",
            ])
            #expect(image.stdout == "sample-app:v2")

            let replicaSet = try harness.file("rs.yaml", Self.replicaSetManifest(name: "sample-app-rs", replicas: 1))
            #expect(try harness.kubectl(["create", "-f", replicaSet, "-n", "demo"]).status == 0)
            let listed = try harness.kubectl(["get", "rollouts,rs,svc", "-n", "demo"])
            #expect(listed.status == 0, "\(listed.combined)")
            for name in ["rollout.argoproj.io/sample-app", "replicaset.apps/sample-app-rs", "service/sample-app-stable"] {
                #expect(listed.stdout.contains(name), "kubectl get rollouts,rs,svc shows \(name): \(listed.stdout)")
            }
            let json = try harness.kubectl(["get", "rollout", "sample-app", "-n", "demo", "-o", "json"])
            let object = try JSONValue(parsing: Data(json.stdout.utf8))
            #expect(object["kind"]?.stringValue == "Rollout")
            #expect(object[path: ["metadata", "generation"]]?.integerValue == 2)
            #expect(object[path: ["metadata", "uid"]]?.stringValue?.isEmpty == false)
        }
    }

    @Test func watchSeesAnotherKubectlsChangeAndStatusIsASubresource() async throws {
        try await withHarness { harness in
            try createArgoCRDs(harness)
            let rollout = try harness.file("rollout.yaml", Self.rolloutManifest)
            #expect(try harness.kubectl(["create", "-f", rollout]).status == 0)
            let watcher = try BackgroundCommand(
                kubectlPath!,
                [
                    "--kubeconfig", harness.kubeconfig, "--cache-dir", harness.directory + "/cache", "get", "rollout", "web",
                    "-w", "-o", "jsonpath={.metadata.name}:{.spec.replicas}{\"\\n\"}",
                ], environment: ["HOME": harness.directory])
            defer { watcher.stop() }
            #expect(await eventually(within: 20) { watcher.text.contains("web:2") }, "initial state: \(watcher.text)")
            let scaled = try harness.kubectl(["patch", "rollout", "web", "--type", "merge", "-p", #"{"spec":{"replicas":5}}"#])
            #expect(scaled.status == 0, "\(scaled.combined)")
            #expect(await eventually(within: 20) { watcher.text.contains("web:5") }, "the watch saw the change: \(watcher.text)")

            let status = try harness.kubectl([
                "patch", "rollout", "web", "--type", "merge", "--subresource=status", "-p",
                #"{"status":{"phase":"Healthy"},"spec":{"replicas":9}}"#,
            ])
            #expect(status.status == 0, "\(status.combined)")
            let afterStatus = try harness.kubectl([
                "get", "rollout", "web", "-o", "jsonpath={.status.phase}/{.spec.replicas}/{.metadata.generation}",
            ])
            #expect(afterStatus.stdout == "Healthy/5/2", "a /status patch changes only status: \(afterStatus.combined)")
            let plain = try harness.kubectl(["patch", "rollout", "web", "--type", "merge", "-p", #"{"status":{"phase":"Degraded"}}"#])
            #expect(plain.status == 0 && plain.stdout.contains("(no change)"), "\(plain.combined)")
            let afterPlain = try harness.kubectl(["get", "rollout", "web", "-o", "jsonpath={.status.phase}"])
            #expect(afterPlain.stdout == "Healthy", "a patch of the object leaves status alone")
        }
    }

    @Test func deletingAReplicaSetCascadesToItsPodsUnlessOrphaned() async throws {
        try await withHarness { harness in
            for (name, replicas) in [("cascade", 3), ("orphan", 2)] {
                let path = try harness.file("\(name).yaml", Self.replicaSetManifest(name: name, replicas: replicas))
                #expect(try harness.kubectl(["create", "-f", path]).status == 0)
            }
            func pods(_ replicaSet: String) throws -> [String] {
                try harness.kubectl(["get", "pods", "-l", "rs=\(replicaSet)", "-o", "name"]).stdout
                    .split(separator: "\n").map(String.init)
            }
            #expect(try await eventually(within: 20) { try pods("cascade").count == 3 && pods("orphan").count == 2 })
            #expect(try pods("cascade").allSatisfy { $0.hasPrefix("pod/cascade-") && $0.count == "pod/cascade-".count + 5 })
            let ready = try harness.kubectl(["get", "rs", "cascade", "-o", "jsonpath={.status.readyReplicas}"])
            #expect(ready.stdout == "3", "\(ready.combined)")

            #expect(try harness.kubectl(["delete", "rs", "cascade"]).status == 0)
            #expect(try await eventually(within: 20) { try pods("cascade").isEmpty }, "the ReplicaSet's pods go with it")
            #expect(try harness.kubectl(["delete", "rs", "orphan", "--cascade=orphan"]).status == 0)
            let orphans = try pods("orphan")
            #expect(orphans.count == 2, "orphaned pods stay: \(orphans)")
            let owners = try harness.kubectl(["get", orphans[0], "-o", "jsonpath={.metadata.ownerReferences}"])
            #expect(owners.stdout.isEmpty, "orphaned pods lose the owner reference: \(owners.stdout)")
        }
    }

    @Test func badInputGetsTheRealServersCodesAndMessages() async throws {
        try await withHarness { harness in
            let malformed = try harness.file(
                "malformed.yaml", Self.replicaSetManifest(name: "bad", replicas: 1).replacingOccurrences(
                    of: "replicas: 1", with: "replicas: three"))
            let decoded = try harness.kubectl(["create", "-f", malformed])
            #expect(decoded.status != 0)
            #expect(
                decoded.stderr.contains(
                    "Error from server (BadRequest): error when creating \"\(malformed)\": ReplicaSet in version \"v1\" "
                        + "cannot be handled as a ReplicaSet: json: cannot unmarshal string into Go struct field "
                        + "ReplicaSetSpec.spec.replicas of type int32"), "\(decoded.stderr)")

            let badName = try harness.kubectl(["create", "configmap", "Bad_Name"])
            #expect(
                badName.stderr.contains(
                    "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 "
                        + "subdomain must consist of lower case alphanumeric characters"), "\(badName.stderr)")
            let badService = try harness.kubectl(["create", "service", "clusterip", "9lives", "--tcp=80:8080"])
            #expect(badService.stderr.contains("Service \"9lives\" is invalid: metadata.name: Invalid value: \"9lives\": a DNS-1035 label"),
                "\(badService.stderr)")

            #expect(try harness.kubectl(["create", "configmap", "settings", "--from-literal=a=1"]).status == 0)
            let stale = try harness.kubectl(["get", "configmap", "settings", "-o", "json"]).stdout
            #expect(try harness.kubectl(["patch", "configmap", "settings", "-p", #"{"data":{"a":"2"}}"#]).status == 0)
            let replaced = try harness.kubectl(["replace", "-f", "-"], input: stale)
            #expect(
                replaced.stderr.contains(
                    "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be fulfilled on "
                        + "configmaps \"settings\": the object has been modified; please apply your changes to the latest "
                        + "version and try again"), "\(replaced.stderr)")

            let unknown = try harness.file(
                "unknown.yaml",
                """
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                spec:
                  bogus: true
                  ports:
                  - port: 80
                """)
            let strict = try harness.kubectl(["create", "-f", unknown])
            #expect(
                strict.stderr.contains(
                    "Error from server (BadRequest): error when creating \"\(unknown)\": Service in version \"v1\" cannot be "
                        + "handled as a Service: strict decoding error: unknown field \"spec.bogus\""), "\(strict.stderr)")
            let warned = try harness.kubectl(["create", "-f", unknown, "--validate=warn"])
            #expect(warned.status == 0 && warned.stderr.contains("Warning: unknown field \"spec.bogus\""), "\(warned.combined)")

            try createArgoCRDs(harness)
            let rollout = try harness.file(
                "bogus-rollout.yaml", Self.rolloutManifest.replacingOccurrences(of: "  replicas: 2", with: "  replicas: 2\n  bogus: 1"))
            let strictCustom = try harness.kubectl(["create", "-f", rollout])
            #expect(
                strictCustom.stderr.contains(
                    "Error from server (BadRequest): error when creating \"\(rollout)\": Rollout in version \"v1alpha1\" "
                        + "cannot be handled as a Rollout: strict decoding error: unknown field \"spec.bogus\""),
                "\(strictCustom.stderr)")
            let mistyped = try harness.file(
                "mistyped-rollout.yaml", Self.rolloutManifest.replacingOccurrences(of: "  replicas: 2", with: "  replicas: two"))
            let typed = try harness.kubectl(["create", "-f", mistyped])
            #expect(
                typed.stderr.contains(
                    "The Rollout \"web\" is invalid: spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer"),
                "\(typed.stderr)")

            let missing = try harness.kubectl(
                ["create", "-f", "-", "-n", "nowhere"],
                input: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#)
            #expect(
                missing.stderr.contains(
                    "Error from server (NotFound): error when creating \"STDIN\": namespaces \"nowhere\" not found"),
                "\(missing.stderr)")
            let absent = try harness.kubectl(["get", "replicaset", "ghost"])
            #expect(absent.stderr.contains("Error from server (NotFound): replicasets.apps \"ghost\" not found"), "\(absent.stderr)")
        }
    }

    static func replicaSetManifest(name: String, replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: \(name)
        spec:
          replicas: \(replicas)
          selector:
            matchLabels:
              rs: \(name)
          template:
            metadata:
              labels:
                rs: \(name)
            spec:
              containers:
              - name: app
                image: sample-app:v1
        """
    }

    static let rolloutManifest = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: web
        spec:
          replicas: 2
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
              - name: web
                image: web:v1
          strategy:
            canary:
              steps:
              - setWeight: 20
        """
}
