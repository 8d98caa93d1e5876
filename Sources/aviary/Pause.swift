import ArgumentParser
import AviaryClient

/// `aviary pause ROLLOUT`.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause a rollout where it is (spec.paused = true); `aviary promote` resumes it.",
        discussion: """
            Example:
              aviary pause web
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await operate(options, rollout: rollout, operation: "pause", done: "paused")
    }
}
