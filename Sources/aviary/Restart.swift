import ArgumentParser
import AviaryClient
import Foundation

/// `aviary restart ROLLOUT [--in DURATION]`.
struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart a rollout's pods, a few at a time (maxUnavailable), now or after a delay.",
        discussion: """
            Sets spec.restartAt; pods started before it are replaced. In cluster mode (--kubeconfig, \
            --context or --kubernetes) it patches the Rollout with {"spec":{"restartAt":"RFC3339"}} \
            (now, or now plus --in), as `kubectl argo rollouts restart` does.

            Examples:
              aviary restart web
              aviary restart web --in 10m
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Option(name: .customLong("in"), help: "Restart after this long (30s, 10m, 1h).")
    var delay: DurationArgument?

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        try cluster.validate(with: options)
    }

    func run() async throws {
        if cluster.isClusterMode {
            let at = Date().addingTimeInterval(delay?.seconds ?? 0)
            try await operate(
                options, cluster, rollout: rollout, writes: RolloutPatches.restart(at: at),
                done: delay.map { "restarts in \(Int($0.seconds))s" } ?? "restarts")
            return
        }
        try await operate(
            options, rollout: rollout, operation: "restart", query: delay.map { "inSeconds=\($0.seconds)" },
            done: delay.map { "restarts in \(Int($0.seconds))s" } ?? "restarts")
    }
}
