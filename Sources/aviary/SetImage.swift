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

            Example:
              aviary set image web app=aviary-sample-app:green
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Argument(help: "CONTAINER=IMAGE.")
    var assignment: String

    @OptionGroup var options: ServerOptions

    func validate() throws {
        let parts = assignment.split(separator: "=", maxSplits: 1)
        if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty {
            throw ValidationError("\(assignment): expected CONTAINER=IMAGE, such as app=aviary-sample-app:green")
        }
    }

    func run() async throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        do {
            try await options.client.setImage(
                rollout: rollout, container: parts[0], image: parts[1], namespace: options.namespace)
            print("rollout \"\(rollout)\" image updated")
        } catch {
            throw fail(error)
        }
    }
}
