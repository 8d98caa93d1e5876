import ArgumentParser
import AviaryClient
import enum AviaryModel.ResourceKind
import Foundation

/// `aviary get rollout|analysisrun|experiment|service NAME`.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a resource.", subcommands: [GetRollout.self, GetAnalysisRun.self, GetExperiment.self, GetService.self])
}

/// `aviary get rollout NAME [--watch] [--no-color] [-o wide|json|yaml]`.
struct GetRollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Show a rollout: status, step, weights, images, and its tree of revisions, pods and analysis.",
        discussion: """
            Prints the header (status, step, SetWeight, ActualWeight, images tagged stable/canary/\
            active/preview, replica counts) and the tree revision → ReplicaSet → pods, with the \
            AnalysisRuns of each revision (✔ successful ✖ failed ? inconclusive ⚠ error measurements \
            and, while one runs, the latest value of each metric). Colours on a terminal; plain when \
            piped or with --no-color. -o wide adds the columns REVISION HASH (pod-template hash) IMAGE \
            ADDRESS (where the router sends a pod's traffic) PID NODE STARTED to the tree. -o json or -o \
            yaml prints the whole resource with its Argo-shaped status.

            --watch follows the daemon's watch stream and redraws in place when the rollout, its \
            ReplicaSets, pods or AnalysisRuns change (and every 5 s so ages move); it keeps the last \
            view while the daemon restarts, reconnects, and ends on Ctrl-C.

            In cluster mode (--kubeconfig, --context or --kubernetes) it reads the Rollout's Argo-shaped \
            status, the ReplicaSets it owns, their pods and its AnalysisRuns from the API server, and \
            --watch redraws on each event of the API server's watches of those four resources.

            Examples:
              aviary get rollout web --watch
              aviary get rollout web -o wide
              aviary get rollout web -o json
              aviary get rollout web --watch --kubeconfig ~/.kube/config -n shop
            """)

    @Argument(help: "The rollout's name.")
    var name: String

    @Option(name: .shortAndLong, help: "Output format: text (default), wide (more columns), json or yaml.")
    var output: String = "text"

    @Flag(name: .shortAndLong, help: "Redraw as the rollout changes, until Ctrl-C.")
    var watch = false

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    var format: OutputFormat? { output == "wide" ? .text : OutputFormat(rawValue: output) }

    func validate() throws {
        try cluster.validate(with: options)
        if format == nil { throw ValidationError("-o \(output): use text, wide, json or yaml") }
        if watch && format != .text {
            throw ValidationError("--watch draws the text view (or -o wide); leave out -o \(output)")
        }
    }

    func run() async throws {
        let (name, namespace) = (name, options.namespace)
        let colour = useColour(noColor: noColor)
        let wide = output == "wide"
        if cluster.isClusterMode {
            try await runOnCluster(colour: colour, wide: wide)
            return
        }
        let client = options.client
        let frame: @Sendable () async throws(APIClient.Failure) -> String = {
            RolloutRenderer.render(
                try await client.snapshot(of: name, namespace: namespace), now: Date(), colour: colour, wide: wide)
        }
        if watch {
            await LiveView.run(
                client: client, watchPath: APIClient.watchPath(rollout: name, namespace: namespace, owned: true),
                frame: frame)
        }
        do {
            switch format {
            case .json?, .yaml?:
                try await options.printStored(kind: .rollout, name: name, json: format == .json)
            case .text?, nil:
                print(try await frame())
            }
        } catch let failure as APIClient.Failure {
            throw fail(failure)
        }
    }

    /// The same views, read from an API server.
    func runOnCluster(colour: Bool, wide: Bool) async throws {
        let name = name
        if watch {
            let client = try cluster.connect(options)
            await LiveView.run(
                changes: { redraw in await client.followChanges(onChange: redraw) },
                frame: { RolloutRenderer.render(try await client.snapshot(of: name), now: Date(), colour: colour, wide: wide) })
        }
        let format = format
        let text = try await cluster.run(options) { client throws(ClusterFailure) -> String in
            switch format {
            case .json?, .yaml?:
                let object = try await client.rolloutObject(name)
                do {
                    let data = object.json.serialized()
                    return try format == .json ? Rendering.json(data) : Rendering.yaml(data)
                } catch {
                    throw ClusterFailure("rollout \"\(name)\" cannot be printed as \(format!.rawValue): \(error)")
                }
            case .text?, nil:
                return RolloutRenderer.render(try await client.snapshot(of: name), now: Date(), colour: colour, wide: wide)
            }
        }
        print(text)
    }
}

/// `aviary get analysisrun NAME`.
struct GetAnalysisRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysisrun",
        abstract: "Show an AnalysisRun: its status, per metric the counts and latest measurement, then each measurement.",
        discussion: """
            Each metric's measurements (as many as it keeps: 10 unless measurementRetention says \
            otherwise) are listed oldest first with their value, phase, age and message, so an \
            Error or a Failed says why. -o json or -o yaml prints the whole resource.

            Examples:
              aviary get analysisrun web-7f9c5d6b8-2-4
              aviary get analysisrun web-7f9c5d6b8-2-4 -o yaml
            """)

    @Argument(help: "The AnalysisRun's name (`aviary list analysisruns` lists them).")
    var name: String

    @Option(name: .shortAndLong, help: "Output format: text (default), json or yaml.")
    var output: String = "text"

    func validate() throws {
        if OutputFormat(rawValue: output) == nil { throw ValidationError("-o \(output): use text, json or yaml") }
    }

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            switch OutputFormat(rawValue: output) {
            case .json?, .yaml?:
                try await options.printStored(kind: .analysisRun, name: name, json: output == "json")
            case .text?, nil:
                let run = try await options.client.analysisRun(name, namespace: options.namespace)
                print(AnalysisRunRenderer.render(run, now: Date(), colour: useColour(noColor: noColor)))
            }
        } catch let failure as APIClient.Failure {
            throw fail(failure)
        }
    }
}

/// `aviary get service NAME [-o json|yaml]`.
struct GetService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Show a Service: where it listens, its selector and the ready pods it sends traffic to.",
        discussion: """
            Listener is ADDRESS:PORT: 127.0.0.1 at the Service's port while that port is free there, \
            else an address of its own from aviary serve --service-address-range, as a ClusterIP. \
            Selector includes the pod-template hash a rollout pinned it to. -o json or -o yaml \
            prints the stored Service.

            Examples:
              aviary get service own-service
              aviary get service own-service -o yaml
            """)

    @Argument(help: "The Service's name (`aviary list services` lists them).")
    var name: String

    @Option(name: .shortAndLong, help: "Output format: text (default), json or yaml.")
    var output: String = "text"

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if OutputFormat(rawValue: output) == nil { throw ValidationError("-o \(output): use text, json or yaml") }
    }

    func run() async throws {
        do {
            switch OutputFormat(rawValue: output) {
            case .json?, .yaml?:
                try await options.printStored(kind: .service, name: name, json: output == "json")
            case .text?, nil:
                let services = try await options.client.serviceEndpoints(namespace: options.namespace)
                guard let service = services.first(where: { $0.name == name }) else {
                    printError(
                        "service \"\(name)\" not found in namespace \"\(options.namespace)\"; "
                            + "aviary list services lists them (-A for every namespace)")
                    throw ExitCode.failure
                }
                print(ServiceListRenderer.renderOne(service))
            }
        } catch let failure as APIClient.Failure {
            throw fail(failure)
        }
    }
}
