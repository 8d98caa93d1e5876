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
            simulated platform where pods become ready at once and every analysis and step plugin \
            succeeds; timed pauses elapse and indefinite pauses are promoted. Prints one row per \
            step: its index in \
            `steps`, the step, the setWeight in force, the traffic share of the new version, the \
            pods of the new and the previous version, and all pods. Nothing is started.

            -f may be given more than once, and may name a directory: the files are read as one \
            set (the Rollout with the Services and templates beside it), which must hold exactly one \
            Rollout.

            Examples:
              aviary plan -f examples/canary.yaml
              aviary plan -f examples/canary.yaml -f examples/success-rate.yaml -o json
            """)

    /// The manifests: files or directories, read as one set holding exactly one Rollout.
    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: ArgumentHelp(
            "A manifest file, a directory of .yaml/.yml/.json files, or - for stdin; repeatable. The set must hold "
                + "exactly one Rollout (other resources are ignored).", valueName: "file"))
    var files: [String] = []

    /// `table` or `json`.
    @Option(name: .shortAndLong, help: "Output format: table or json.")
    var output: PlanOutputFormat = .table

    func validate() throws {
        if files.isEmpty {
            throw ValidationError("give the manifest holding the Rollout with -f FILE (or -f - for stdin)")
        }
    }

    func run() throws {
        let (inputs, unreadable) = LintFiles.read(files)
        if let problem = unreadable.first {
            throw PlanError("\(problem.file): \(problem.message); give readable manifests with -f")
        }
        var rollouts: [(file: String, rollout: Rollout)] = []
        for input in inputs {
            let decoded = ManifestDecoder().decode(String(decoding: input.data, as: UTF8.self), file: input.file)
            if decoded.hasErrors {
                throw PlanError(decoded.diagnostics.filter(\.isError).map(\.description).joined(separator: "\n"))
            }
            for case .rollout(let rollout) in decoded.resources { rollouts.append((input.file, rollout)) }
        }
        let given = inputs.map(\.file).joined(separator: ", ")
        guard rollouts.count == 1, let (file, rollout) = rollouts.first else {
            let found = rollouts.map { "\($0.rollout.metadata.name ?? "(no name)") in \($0.file)" }.joined(separator: ", ")
            throw PlanError(
                "\(given): expected exactly one Rollout, found \(rollouts.count)\(found.isEmpty ? "" : " (\(found))"); "
                    + "give -f the files of one Rollout")
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
