import ArgumentParser
import AviaryClient

/// `aviary abort ROLLOUT`.
struct Abort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Abort a rollout: traffic and replicas go back to the stable version.",
        discussion: """
            The rollout becomes Degraded with spec.template still naming the new version; \
            `aviary retry rollout` starts the steps again, `aviary undo` goes back.

            In cluster mode (--kubeconfig, --context or --kubernetes) it patches the status \
            subresource with {"status":{"abort":true}}, as `kubectl argo rollouts abort` does.

            Examples:
              aviary abort web
              aviary abort web --context prod -n shop
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        try cluster.validate(with: options)
    }

    func run() async throws {
        if cluster.isClusterMode {
            try await operate(options, cluster, rollout: rollout, writes: RolloutPatches.abort, done: "aborted")
            return
        }
        do {
            _ = try await options.client.send(
                .POST, APIClient.operationPath(rollout: rollout, operation: "abort", namespace: options.namespace))
            print("rollout \"\(rollout)\" aborted")
        } catch {
            throw fail(error)
        }
    }
}
