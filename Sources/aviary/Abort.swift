import ArgumentParser
import AviaryClient

/// `aviary abort ROLLOUT`.
struct Abort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Abort a rollout: traffic and replicas go back to the stable version.",
        discussion: """
            The rollout becomes Degraded with spec.template still naming the new version; \
            `aviary retry rollout` starts the steps again, `aviary undo` goes back.

            Example:
              aviary abort web
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            _ = try await options.client.send(
                .POST, APIClient.operationPath(rollout: rollout, operation: "abort", namespace: options.namespace))
            print("rollout \"\(rollout)\" aborted")
        } catch {
            throw fail(error)
        }
    }
}
