import ArgumentParser
import AviaryAPI
import AviaryClient
import Foundation

/// `aviary events ROLLOUT`: what happened to a rollout, like `kubectl events --for rollout/NAME`.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a rollout's events (at most the latest 100), oldest first.",
        discussion: """
            Each event says when it was last seen, whether it is Normal or a Warning, its reason \
            (RolloutUpdated, RolloutStepCompleted, RolloutPaused, AnalysisRunFailed, RolloutAborted, ...) \
            and what happened. -o json prints the daemon's answer as it is.

            Examples:
              aviary events web
              aviary events web -n shop -o json
            """)

    @Argument(help: "The rollout's name.")
    var rollout: String

    @Option(name: .shortAndLong, help: "Output format: table (default) or json.")
    var output: String = "table"

    @OptionGroup var options: ServerOptions

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("-o \(output): use table or json") }
    }

    func run() async throws {
        let events: [EventList.Event]
        do {
            events = try await options.client.events(ofRollout: rollout, namespace: options.namespace)
        } catch {
            throw fail(error)
        }
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(EventList(events: events)), as: UTF8.self))
        } else {
            print(EventRenderer.table(events, rollout: rollout, now: Date()), terminator: "")
        }
    }
}
