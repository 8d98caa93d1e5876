import ArgumentParser
import AviaryClient

/// `aviary promote ROLLOUT [--full]`.
struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Promote a paused rollout to its next step, or to the end with --full.",
        discussion: """
            Without --full: leaves the current pause, or skips the current step when not paused. \
            With --full: skips the remaining steps and analysis and makes the new version stable.

            In cluster mode (--kubeconfig, --context or --kubernetes) it sends the merge patches of \
            `kubectl argo rollouts promote`: {"status":{"pauseConditions":null}} to the status \
            subresource (with "controllerPause":false and the next currentStepIndex after an \
            inconclusive analysis; with the next currentStepIndex when a canary is not paused) and \
            {"spec":{"paused":false}} when spec.paused is set; --full sends {"status":{"promoteFull":true}} \
            unless the current pods already are the stable ones.

            Examples:
              aviary promote web
              aviary promote web --full --kubeconfig ~/.kube/config -n shop
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Flag(help: "Skip all remaining steps.")
    var full = false

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        try cluster.validate(with: options)
    }

    func run() async throws {
        if cluster.isClusterMode {
            let (rollout, full) = (rollout, full)
            let writes = try await cluster.run(options) { client throws(ClusterFailure) in
                try await client.promote(rollout, full: full)
            }
            if full && writes.isEmpty {
                print("rollout \"\(rollout)\" is already fully promoted (its current pods are the stable ones); nothing written")
            } else {
                print("rollout \"\(rollout)\" \(full ? "fully promoted" : "promoted")")
            }
            return
        }
        do {
            _ = try await options.client.send(
                .POST,
                APIClient.operationPath(
                    rollout: rollout, operation: "promote", namespace: options.namespace,
                    query: full ? "full=true" : nil))
            print("rollout \"\(rollout)\" promoted")
        } catch {
            throw fail(error)
        }
    }
}
