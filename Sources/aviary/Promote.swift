import ArgumentParser
import AviaryClient

/// `aviary promote ROLLOUT [--full]`.
struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Promote a paused rollout to its next step, or to the end with --full.",
        discussion: """
            Without --full: leaves the current pause, or skips the current step when not paused. \
            With --full: skips the remaining steps and analysis and makes the new version stable.

            Example:
              aviary promote web
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Flag(help: "Skip all remaining steps.")
    var full = false

    @OptionGroup var options: ServerOptions

    func run() async throws {
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
