import ArgumentParser
import AviaryClient

/// `aviary retry [rollout] NAME`.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retry an aborted rollout.", subcommands: [RetryRollout.self], defaultSubcommand: RetryRollout.self)
}

/// `aviary retry [rollout] NAME`: `rollout` may be left out, as it may for every other verb on a rollout.
struct RetryRollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Clear an abort and start the rollout's steps again from the first.",
        discussion: """
            Examples:
              aviary retry web
              aviary retry rollout web
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await operate(options, rollout: rollout, operation: "retry", done: "retried")
    }
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
