import ArgumentParser
import AviaryClient

/// `aviary retry [rollout] NAME`.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retry an aborted rollout or an ended experiment.", subcommands: [RetryRollout.self, RetryExperiment.self],
        defaultSubcommand: RetryRollout.self)
}

/// `aviary retry [rollout] NAME`: `rollout` may be left out, as it may for every other verb on a rollout.
struct RetryRollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Clear an abort and start the rollout's steps again from the first.",
        discussion: """
            In cluster mode (--kubeconfig, --context or --kubernetes) it patches the status \
            subresource with {"status":{"abort":false}}, as `kubectl argo rollouts retry rollout` does.

            Examples:
              aviary retry web
              aviary retry rollout web
              aviary retry rollout web --kubeconfig ./kubeconfig -n shop
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
            try await operate(options, cluster, rollout: rollout, writes: RolloutPatches.retry, done: "retried")
            return
        }
        try await operate(options, rollout: rollout, operation: "retry", done: "retried")
    }
}

/// Writes a verb's patches to a Rollout on the cluster and prints `rollout "NAME" DONE`; a failure
/// prints one line, exit 1.
func operate(
    _ options: ServerOptions, _ cluster: ClusterOptions, rollout: String, writes: RolloutPatches.Writes, done: String
) async throws {
    try await cluster.run(options) { client throws(ClusterFailure) in try await client.write(writes, to: rollout) }
    print("rollout \"\(rollout)\" \(done)")
}

/// Posts an operation on a rollout and prints `rollout "NAME" DONE`; a failure prints one line, exit 1.
func operate(
    _ options: ServerOptions, rollout: String, operation: String, query: String? = nil, done: String
)
    async throws
{
    do {
        _ = try await options.client.send(
            .POST,
            APIClient.operationPath(rollout: rollout, operation: operation, namespace: options.namespace, query: query))
        print("rollout \"\(rollout)\" \(done)")
    } catch {
        throw fail(error)
    }
}
