import AviaryTestSupport
import Foundation
import Testing

/// What a person sees when the cluster cannot be used: one line naming the server (or the rollout
/// and namespace) and the cause, exit 1, and nothing written.
@Suite(.serialized, .enabled(if: kubectlPath != nil, "kubectl is not installed (Debian: apt-get install kubectl)"))
struct ClusterErrorTests {
    @Test func anUnreachableServerIsOneLineNamingItAndTheCause() async throws {
        let directory = NSTemporaryDirectory() + "aviary-unreachable-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freePort()
        let kubeconfig = directory + "/kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: gone
          cluster:
            server: http://127.0.0.1:\(port)
        users:
        - name: someone
          user:
            token: abc
        contexts:
        - name: gone
          context:
            cluster: gone
            user: someone
        current-context: gone
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let failed = try run(
            [builtProductsDirectory() + "/aviary", "promote", "web", "--kubeconfig", kubeconfig], in: directory)
        #expect(failed.status == 1 && failed.stdout.isEmpty, "\(failed)")
        let lines = failed.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(failed.stderr)")
        #expect(failed.stderr.contains("http://127.0.0.1:\(port)") && failed.stderr.contains("unreachable"), "\(failed)")
        #expect(failed.stderr.contains("get rollouts.argoproj.io \"default/web\""), "\(failed)")
    }

    @Test func aMissingKubeconfigNamesTheFileAndTheFix() async throws {
        let failed = try run(
            [builtProductsDirectory() + "/aviary", "list", "rollouts", "--kubeconfig", "/nonexistent/kubeconfig"],
            in: NSTemporaryDirectory())
        #expect(failed.status == 1, "\(failed)")
        #expect(
            failed.stderr.hasPrefix("error: /nonexistent/kubeconfig") && failed.stderr.contains("does not exist")
                && failed.stderr.contains("--kubeconfig"), "\(failed)")
    }

    @Test func forbiddenAndUnauthorisedNameTheVerbResourceAndServer() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            #expect(await cluster.server.control(.POST, "/_double/faults", #"{"status": 403, "count": 1}"#) == 200)
            let forbidden = try cluster.aviary(["abort", "web"])
            #expect(forbidden.status == 1 && forbidden.stdout.isEmpty, "\(forbidden)")
            #expect(forbidden.stderr.split(separator: "\n").count == 1, "\(forbidden)")
            #expect(
                forbidden.stderr.hasPrefix(
                    "error: patch rollouts.argoproj.io/status \"default/web\" on \(cluster.server.url): 403 Forbidden"),
                "\(forbidden)")
            #expect(forbidden.stderr.contains("RBAC permission for this verb"), "\(forbidden)")
            #expect(try cluster.web().status == before.status, "a refused verb writes nothing")

            #expect(await cluster.server.control(.POST, "/_double/faults", #"{"status": 401, "count": 1}"#) == 200)
            let unauthorised = try cluster.aviary(["status", "web"])
            #expect(unauthorised.status == 1, "\(unauthorised)")
            #expect(
                unauthorised.stderr.contains("on \(cluster.server.url): 401 Unauthorized")
                    && unauthorised.stderr.contains("check the token or client certificate"), "\(unauthorised)")
        }
    }

    @Test func aMissingRolloutNamesItAndTheNamespace() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            for verb in [["promote", "shop"], ["get", "rollout", "shop"], ["undo", "shop"], ["pause", "shop"]] {
                let missing = try cluster.aviary(verb + ["-n", "default"])
                #expect(missing.status == 1, "\(verb): \(missing)")
                #expect(
                    missing.stderr.hasPrefix(
                        "error: rollout \"shop\" not found in namespace \"default\" on \(cluster.server.url)"),
                    "\(verb): \(missing)")
            }
        }
    }

    @Test func aClusterWithoutTheCRDsSaysToInstallThem() async throws {
        try await withCluster { cluster in
            let failed = try cluster.aviary(["get", "rollout", "web"])
            #expect(failed.status == 1, "\(failed)")
            #expect(failed.stderr.contains("aviary install kubernetes | kubectl apply -f -"), "\(failed)")
        }
    }

    @Test func aDaemonFlagBesideAClusterFlagIsRefusedBeforeAnythingRuns() throws {
        let refused = try run(
            [builtProductsDirectory() + "/aviary", "abort", "web", "--server", "127.0.0.1:7480", "--context", "prod"],
            in: NSTemporaryDirectory())
        #expect(refused.status == 64, "\(refused)")
        #expect(
            refused.stderr.contains(
                "--server/--token name a daemon and --kubeconfig/--context/--kubernetes a cluster; give one or the other"),
            "\(refused)")
    }
}
