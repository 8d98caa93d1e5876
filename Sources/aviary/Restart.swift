import ArgumentParser
import AviaryClient

/// `aviary restart ROLLOUT [--in DURATION]`.
struct Restart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart a rollout's pods, a few at a time (maxUnavailable), now or after a delay.",
        discussion: """
            Sets spec.restartAt; pods started before it are replaced.

            Examples:
              aviary restart web
              aviary restart web --in 10m
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Option(name: .customLong("in"), help: "Restart after this long (30s, 10m, 1h).")
    var delay: DurationArgument?

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await operate(
            options, rollout: rollout, operation: "restart", query: delay.map { "inSeconds=\($0.seconds)" },
            done: delay.map { "restarts in \(Int($0.seconds))s" } ?? "restarts")
    }
}
