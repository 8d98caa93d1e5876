import ArgumentParser
import AviaryClient

/// `aviary undo ROLLOUT [--to-revision N]`.
struct Undo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll back to an earlier revision's pod template.",
        discussion: """
            Without --to-revision goes back to the revision before the current one. Going back to \
            the stable version skips the steps; any other revision rolls out as a normal update.

            Examples:
              aviary undo web
              aviary undo web --to-revision 3
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Option(help: "The revision to go back to (`aviary get rollout` shows them).")
    var toRevision: Int?

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if let toRevision, toRevision < 1 { throw ValidationError("--to-revision \(toRevision): revisions start at 1") }
    }

    func run() async throws {
        try await operate(
            options, rollout: rollout, operation: "undo", query: toRevision.map { "toRevision=\($0)" },
            done: "rolled back")
    }
}
