import ArgumentParser
import AviaryClient
import Foundation

/// `aviary set image ROLLOUT CONTAINER=IMAGE`.
struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Change a rollout.", subcommands: [SetImage.self])
}

/// `aviary set image ROLLOUT CONTAINER=IMAGE`.
struct SetImage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Set a container's image, which starts a new revision.",
        discussion: """
            CONTAINER=IMAGE names the container of the pod template; *=IMAGE sets every container.

            In cluster mode (--kubeconfig, --context or --kubernetes) it does what `kubectl argo \
            rollouts set image` does: sets the image of the matching init, app and ephemeral \
            containers of spec.template and writes the Rollout back with its resourceVersion, \
            read again and retried (up to 5 times) when someone else wrote it in between.

            Examples:
              aviary set image web app=aviary-sample-app:green
              aviary set image web app=registry/web:1.4 --kubeconfig ~/.kube/config -n shop
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Argument(help: "CONTAINER=IMAGE.")
    var assignment: String

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        try cluster.validate(with: options)
        let parts = assignment.split(separator: "=", maxSplits: 1)
        if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty {
            throw ValidationError("\(assignment): expected CONTAINER=IMAGE, such as app=aviary-sample-app:green")
        }
    }

    func run() async throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        if cluster.isClusterMode {
            let rollout = rollout
            try await cluster.run(options) { client throws(ClusterFailure) in
                try await client.setImage(rollout, container: parts[0], image: parts[1])
            }
            print("rollout \"\(rollout)\" image updated")
            return
        }
        do {
            try await options.client.setImage(
                rollout: rollout, container: parts[0], image: parts[1], namespace: options.namespace)
            print("rollout \"\(rollout)\" image updated")
        } catch {
            throw fail(error)
        }
    }
}
