import ArgumentParser
import AviaryCore
import AviaryModel
import Foundation

/// `aviary plan`: what a rollout will do, step by step, before it runs.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a rollout will do at each step, before running it.",
        discussion: """
            Steps the rollout controller through an update of the Rollout in the file against a \
            simulated platform where pods become ready at once and every analysis succeeds; timed \
            pauses elapse and indefinite pauses are promoted. Prints one row per step: its index in \
            `steps`, the step, the setWeight in force, the traffic share of the new version, the \
            pods of the new and the previous version, and all pods. Nothing is started.

            Example:
              aviary plan -f examples/canary-rollout.yaml
              aviary plan -f examples/canary-rollout.yaml -o json
            """)

    /// The manifest holding the Rollout (other documents are ignored).
    @Option(name: .shortAndLong, help: "A YAML or JSON file holding one Rollout (other resources are ignored).")
    var file: String

    /// `table` or `json`.
    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: PlanOutputFormat = .table

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw PlanError("cannot read \(file): \(error.localizedDescription); give a readable file with -f")
        }
        let decoded = ManifestDecoder().decode(text, file: file)
        if decoded.hasErrors {
            throw PlanError(decoded.diagnostics.filter(\.isError).map(\.description).joined(separator: "\n"))
        }
        let rollouts = decoded.resources.compactMap { resource -> Rollout? in
            if case .rollout(let rollout) = resource { return rollout }
            return nil
        }
        guard rollouts.count == 1, let rollout = rollouts.first else {
            throw PlanError(
                "\(file): expected exactly one Rollout, found \(rollouts.count); put the Rollout to plan in its own file"
            )
        }
        if let message = RolloutPlan.invalidSpecMessage(rollout) {
            throw PlanError("\(file): \(message)")
        }
        let rows = RolloutPlan.make(for: rollout)
        switch output {
        case .table: print(RolloutPlan.table(rows), terminator: "")
        case .json: print(try RolloutPlan.json(rows))
        }
    }
}

/// The formats `aviary plan` prints.
enum PlanOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

/// A problem with the input of `aviary plan`: printed as `Error: <message>` with exit code 1.
struct PlanError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
