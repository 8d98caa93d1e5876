import ArgumentParser
import AviaryServer
import Foundation

/// `aviary list rollouts|analysisruns`.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List resources in a table.", subcommands: [ListRollouts.self, ListAnalysisRuns.self])
}

/// `aviary list rollouts [--watch]`.
struct ListRollouts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts",
        abstract: "List the rollouts of a namespace.",
        discussion: """
            Columns as `kubectl argo rollouts list rollouts`: NAME STRATEGY STATUS STEP SET-WEIGHT READY \
            DESIRED UP-TO-DATE AVAILABLE. --watch redraws the table in place until Ctrl-C.

            Example:
              aviary list rollouts -n shop --watch
            """)

    @Flag(name: .shortAndLong, help: "Redraw the table as rollouts change, until Ctrl-C.")
    var watch = false

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let client = options.client
        let namespace = options.namespace
        let colour = useColour(noColor: noColor)
        let frame: @Sendable () async throws(APIClient.Failure) -> String = {
            let rollouts = try await client.rollouts(namespace: namespace)
            if rollouts.isEmpty { return "No rollouts in namespace \"\(namespace)\"." }
            return RolloutListRenderer.render(rollouts: rollouts, colour: colour)
        }
        if watch { await LiveView.run(frame: frame) }
        do {
            print(try await frame())
        } catch {
            throw fail(error)
        }
    }
}

/// `aviary list analysisruns`.
struct ListAnalysisRuns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysisruns",
        abstract: "List the AnalysisRuns of a namespace with their measurement counts.",
        discussion: """
            Columns NAME ROLLOUT STATUS AGE MEASUREMENTS (✔ successful, ✖ failed, ? inconclusive, ⚠ error).

            Example:
              aviary list analysisruns --rollout web
            """)

    @Option(help: "Only the runs of this rollout.")
    var rollout: String?

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let runs = try await options.client.analysisRuns(namespace: options.namespace, rollout: rollout)
            if runs.isEmpty {
                print("No AnalysisRuns in namespace \"\(options.namespace)\".")
                return
            }
            print(AnalysisRunRenderer.renderList(runs, now: Date(), colour: useColour(noColor: noColor)))
        } catch {
            throw fail(error)
        }
    }
}
