import ArgumentParser
import AviaryClient

/// `aviary undo ROLLOUT [--to-revision N]`.
struct Undo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll back to an earlier revision's pod template.",
        discussion: """
            Without --to-revision goes back to the revision before the current one. Going back to \
            the stable version skips the steps; any other revision rolls out as a normal update.

            In cluster mode (--kubeconfig, --context or --kubernetes) it does what `kubectl argo \
            rollouts undo` does: finds the ReplicaSet the Rollout owns with that \
            rollout.argoproj.io/revision annotation, and replaces spec.template with its pod template \
            (without the rollouts-pod-template-hash label); nothing is written when the template \
            already is that revision's.

            Examples:
              aviary undo web
              aviary undo web --to-revision 3
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Option(help: "The revision to go back to (`aviary get rollout` shows them).")
    var toRevision: Int?

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        if let toRevision, toRevision < 1 { throw ValidationError("--to-revision \(toRevision): revisions start at 1") }
        try cluster.validate(with: options)
    }

    func run() async throws {
        if cluster.isClusterMode {
            let (rollout, toRevision) = (rollout, toRevision)
            let outcome = try await cluster.run(options) { client throws(ClusterFailure) in
                try await client.undo(rollout, toRevision: toRevision)
            }
            switch outcome {
            case .restored(let revision):
                print("rollout \"\(rollout)\" rolled back to the pod template of revision \(revision)")
            case .alreadyCurrent(let revision):
                print("rollout \"\(rollout)\" already has the pod template of revision \(revision); nothing written")
            }
            return
        }
        try await operate(
            options, rollout: rollout, operation: "undo", query: toRevision.map { "toRevision=\($0)" },
            done: "rolled back")
    }
}
