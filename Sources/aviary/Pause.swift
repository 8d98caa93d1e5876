import ArgumentParser
import AviaryClient

/// `aviary pause ROLLOUT`.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause a rollout where it is (spec.paused = true); `aviary promote` resumes it.",
        discussion: """
            In cluster mode (--kubeconfig, --context or --kubernetes) it patches the Rollout with \
            {"spec":{"paused":true}}, as `kubectl argo rollouts pause` does.

            Examples:
              aviary pause web
              aviary pause web --kubernetes -n shop
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
            try await operate(options, cluster, rollout: rollout, writes: RolloutPatches.pause, done: "paused")
            return
        }
        try await operate(options, rollout: rollout, operation: "pause", done: "paused")
    }
}
