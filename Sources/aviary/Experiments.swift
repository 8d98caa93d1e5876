import ArgumentParser
import AviaryClient
import enum AviaryModel.ResourceKind
import Foundation

/// `aviary get experiment NAME [--watch] [-o json|yaml]`.
struct GetExperiment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Show an Experiment: status, images per template, and its tree of ReplicaSets, pods and analysis.",
        discussion: """
            Prints Name, Namespace, Status (◷ Pending, ◌ Running, ✔ Successful, ✖ Failed, ⚠ Error or \
            Inconclusive), Message, the images of the templates that run (tagged Σ:TEMPLATE), Duration \
            and Remaining, then the tree Σ experiment → ⧉ ReplicaSet (delay:Ns while its scale-down \
            waits) → □ pods, and α AnalysisRuns with their measurement counts. -o json or -o yaml \
            prints the whole resource with its Argo-shaped status.

            --watch redraws when the experiment, its ReplicaSets, pods or AnalysisRuns change, until Ctrl-C.

            Examples:
              aviary get experiment ab
              aviary get experiment ab --watch
              aviary get experiment ab -o yaml
            """)

    @Argument(help: "The experiment's name (`aviary list experiments` lists them).")
    var name: String

    @Option(name: .shortAndLong, help: "Output format: text (default), json or yaml.")
    var output: String = "text"

    @Flag(name: .shortAndLong, help: "Redraw as the experiment changes, until Ctrl-C.")
    var watch = false

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var options: ServerOptions

    func validate() throws {
        guard let format = OutputFormat(rawValue: output) else {
            throw ValidationError("-o \(output): use text, json or yaml")
        }
        if watch && format != .text { throw ValidationError("--watch draws the text view; leave out -o \(output)") }
    }

    func run() async throws {
        let (name, namespace, client) = (name, options.namespace, options.client)
        let colour = useColour(noColor: noColor)
        let frame: @Sendable () async throws(APIClient.Failure) -> String = {
            ExperimentRenderer.render(
                try await client.snapshot(ofExperiment: name, namespace: namespace), now: Date(), colour: colour)
        }
        if watch {
            await LiveView.run(
                client: client, watchPath: APIClient.watchPath(experiment: name, namespace: namespace), frame: frame)
        }
        do {
            switch OutputFormat(rawValue: output) {
            case .json?, .yaml?: try await options.printStored(kind: .experiment, name: name, json: output == "json")
            case .text?, nil: print(try await frame())
            }
        } catch let failure as APIClient.Failure {
            throw fail(failure)
        }
    }
}

/// `aviary list experiments [-A]`.
struct ListExperiments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List the Experiments of a namespace (or of all, with -A).",
        discussion: """
            Columns NAME STATUS DURATION REMAINING AGE, as `kubectl argo rollouts list experiments`; \
            REMAINING counts down from when every template became available. -A adds NAMESPACE first.

            Examples:
              aviary list experiments
              aviary list experiments -A
            """)

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let namespace = all.allNamespaces ? nil : options.namespace
            let experiments = try await options.client.experiments(namespace: namespace)
            if experiments.isEmpty {
                print(namespace.map { "No Experiments in namespace \"\($0)\"." } ?? "No Experiments.")
                return
            }
            print(
                ExperimentRenderer.renderList(
                    experiments, now: Date(), colour: useColour(noColor: noColor), allNamespaces: all.allNamespaces))
        } catch {
            throw fail(error)
        }
    }
}

/// `aviary terminate experiment|analysisrun NAME`.
struct Terminate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop an Experiment or an AnalysisRun early.",
        subcommands: [TerminateExperiment.self, TerminateAnalysisRun.self])
}

/// `aviary terminate experiment NAME`.
struct TerminateExperiment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "End an Experiment now: its AnalysisRuns stop and its ReplicaSets scale down.",
        discussion: """
            Sets spec.terminate, as `kubectl argo rollouts terminate experiment` does. The experiment \
            ends Successful unless an analysis already failed; its ReplicaSets go to 0 after \
            scaleDownDelaySeconds (30 by default).

            Example:
              aviary terminate experiment ab
            """)

    @Argument(help: "The experiment's name.")
    var name: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await runOperation("terminate", plural: "experiments", kind: "experiment", name: name, options, done: "terminated")
    }
}

/// `aviary terminate analysisrun NAME`.
struct TerminateAnalysisRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysisrun",
        abstract: "End an AnalysisRun now; it takes no more measurements.",
        discussion: """
            Sets spec.terminate, as `kubectl argo rollouts terminate analysisrun` does. A run that \
            had no failed measurement ends Successful.

            Example:
              aviary terminate analysisrun web-7f9c5d6b8-2-1
            """)

    @Argument(help: "The AnalysisRun's name.")
    var name: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await runOperation(
            "terminate", plural: "analysisruns", kind: "analysisrun", name: name, options, done: "terminated")
    }
}

/// `aviary retry experiment NAME`.
struct RetryExperiment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an ended Experiment again from the start.",
        discussion: """
            Clears the experiment's status, as `kubectl argo rollouts retry experiment` does: its \
            templates scale up again and its analyses start new runs (named with .1, .2, ... beside \
            the finished ones). A terminated experiment stays terminated; apply it without \
            terminate first.

            Example:
              aviary retry experiment ab
            """)

    @Argument(help: "The experiment's name.")
    var name: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await runOperation("retry", plural: "experiments", kind: "experiment", name: name, options, done: "retried")
    }
}

/// Posts an operation on an experiment or AnalysisRun and prints `KIND "NAME" DONE`.
func runOperation(
    _ operation: String, plural: String, kind: String, name: String, _ options: ServerOptions, done: String
) async throws {
    do {
        try await options.client.operate(operation, plural: plural, name: name, namespace: options.namespace)
        print("\(kind) \"\(name)\" \(done)")
    } catch {
        throw fail(error)
    }
}
