import ArgumentParser
import AviaryClient
import Foundation

/// `aviary list rollouts|analysisruns|experiments|services|configmaps|secrets`.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List resources in a table.",
        subcommands: [
            ListRollouts.self, ListAnalysisRuns.self, ListExperiments.self, ListServices.self, ListConfigMaps.self,
            ListSecrets.self,
        ])
}

/// `-A/--all-namespaces`: every namespace, with a NAMESPACE column first (as kubectl).
struct AllNamespacesOption: ParsableArguments {
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "Every namespace (ignores -n).")
    var allNamespaces = false
}

/// `aviary list rollouts [-A] [-o wide] [--watch]`.
struct ListRollouts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts",
        abstract: "List the rollouts of a namespace (or of all, with -A).",
        discussion: """
            Columns as `kubectl argo rollouts list rollouts`: NAME STRATEGY STATUS STEP SET-WEIGHT READY \
            DESIRED UP-TO-DATE AVAILABLE; -A adds NAMESPACE first, -o wide adds IMAGES AGE MESSAGE. \
            --watch follows the daemon's watch stream and redraws the table in place when a rollout \
            changes (and every 5 s), reconnects when the daemon restarts, and ends on Ctrl-C.

            In cluster mode (--kubeconfig, --context or --kubernetes) the table is drawn from the \
            Rollouts' Argo-shaped status on the API server; --watch follows its watch of Rollouts.

            Examples:
              aviary list rollouts -n shop --watch
              aviary list rollouts -A -o wide
              aviary list rollouts -A --kubeconfig ~/.kube/config
            """)

    @Option(name: .shortAndLong, help: "Output format: text (default) or wide (IMAGES AGE MESSAGE too).")
    var output: String = "text"

    @Flag(name: .shortAndLong, help: "Redraw the table as rollouts change, until Ctrl-C.")
    var watch = false

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    func validate() throws {
        if output != "text" && output != "wide" { throw ValidationError("-o \(output): use text or wide") }
        try cluster.validate(with: options)
    }

    func run() async throws {
        let (colour, wide, allNamespaces) = (useColour(noColor: noColor), output == "wide", all.allNamespaces)
        if cluster.isClusterMode {
            let frame: @Sendable (ClusterClient) async throws(ClusterFailure) -> String = { client throws(ClusterFailure) in
                let rollouts = try await client.rollouts(allNamespaces: allNamespaces)
                if rollouts.isEmpty {
                    return allNamespaces ? "No rollouts." : "No rollouts in namespace \"\(client.namespace)\"."
                }
                return RolloutListRenderer.render(
                    rollouts: rollouts, colour: colour, allNamespaces: allNamespaces, wide: wide, now: Date())
            }
            if watch {
                let client = try cluster.connect(options)
                await LiveView.run(
                    changes: { redraw in
                        await client.followChanges(rolloutsOnly: true, allNamespaces: allNamespaces, onChange: redraw)
                    },
                    frame: { try await frame(client) })
            }
            print(try await cluster.run(options, frame))
            return
        }
        let client = options.client
        let namespace = all.allNamespaces ? nil : options.namespace
        let frame: @Sendable () async throws(APIClient.Failure) -> String = {
            let rollouts = try await client.rollouts(namespace: namespace)
            if rollouts.isEmpty { return namespace.map { "No rollouts in namespace \"\($0)\"." } ?? "No rollouts." }
            return RolloutListRenderer.render(
                rollouts: rollouts, colour: colour, allNamespaces: allNamespaces, wide: wide, now: Date())
        }
        if watch {
            await LiveView.run(client: client, watchPath: APIClient.watchPath(rolloutsIn: namespace), frame: frame)
        }
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
        abstract: "List the AnalysisRuns of a namespace (or of all, with -A) with their measurement counts.",
        discussion: """
            Columns NAME ROLLOUT STATUS AGE MEASUREMENTS (✔ successful, ✖ failed, ? inconclusive, ⚠ error); \
            -A adds NAMESPACE first.

            Examples:
              aviary list analysisruns --rollout web
              aviary list analysisruns -A
            """)

    @Option(help: "Only the runs of this rollout.")
    var rollout: String?

    @Flag(name: .customLong("no-color"), help: "Plain text even on a terminal.")
    var noColor = false

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let namespace = all.allNamespaces ? nil : options.namespace
            let runs = try await options.client.analysisRuns(namespace: namespace, rollout: rollout)
            if runs.isEmpty {
                print(namespace.map { "No AnalysisRuns in namespace \"\($0)\"." } ?? "No AnalysisRuns.")
                return
            }
            print(
                AnalysisRunRenderer.renderList(
                    runs, now: Date(), colour: useColour(noColor: noColor), allNamespaces: all.allNamespaces))
        } catch {
            throw fail(error)
        }
    }
}

/// `aviary list services`: where each Service listens and what it sends traffic to.
struct ListServices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List the Services of a namespace (or of all, with -A): where each listens and its endpoints.",
        discussion: """
            Columns NAME LISTENER ENDPOINTS SELECTOR. A Service listens on 127.0.0.1 at its port while \
            that port is free there, and otherwise on an address of its own from `aviary serve \
            --service-address-range` (127.0.1.0/24), so Services that share port 80 each have one. \
            ENDPOINTS are the ready pods it sends traffic to; SELECTOR includes the pod-template hash \
            a rollout pinned it to.

            Examples:
              aviary list services
              aviary list services -A
            """)

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let namespace = all.allNamespaces ? nil : options.namespace
            let services = try await options.client.serviceEndpoints(namespace: namespace)
            if services.isEmpty {
                print(namespace.map { "No Services in namespace \"\($0)\"." } ?? "No Services.")
                return
            }
            print(ServiceListRenderer.render(services, allNamespaces: all.allNamespaces))
        } catch {
            throw fail(error)
        }
    }
}

/// `aviary list configmaps [-A]`.
struct ListConfigMaps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configmaps",
        abstract: "List the ConfigMaps of a namespace (or of all, with -A): NAME DATA AGE.",
        discussion: """
            ConfigMaps are applied like any manifest (aviary apply -f). A pod reads them when its \
            process starts, through envFrom.configMapRef and env[].valueFrom.configMapKeyRef, as the \
            kubelet does: a changed ConfigMap reaches the pods started after the change (aviary \
            restart NAME starts new ones).

            Examples:
              aviary list configmaps
              aviary list configmaps -A
            """)

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let namespace = all.allNamespaces ? nil : options.namespace
            let rows = ConfigurationListRenderer.rows(try await options.client.configMaps(namespace: namespace))
            printConfiguration(rows, kind: "ConfigMaps", namespace: namespace, allNamespaces: all.allNamespaces)
        } catch {
            throw fail(error)
        }
    }
}

/// `aviary list secrets [-A]`.
struct ListSecrets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "List the Secrets of a namespace (or of all, with -A): NAME TYPE DATA AGE, never a value.",
        discussion: """
            Secrets are applied like any manifest (aviary apply -f); stringData is stored as base64 \
            data, as Kubernetes does. Pods read them through envFrom.secretRef and \
            env[].valueFrom.secretKeyRef when their process starts, and an AnalysisRun's \
            args[].valueFrom.secretKeyRef reads them before secrets.yaml in the state directory. The \
            values are kept in the state directory's database (mode 0700), like etcd without \
            encryption at rest.

            Examples:
              aviary list secrets
              aviary list secrets -A
            """)

    @OptionGroup var all: AllNamespacesOption

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let namespace = all.allNamespaces ? nil : options.namespace
            let rows = ConfigurationListRenderer.rows(try await options.client.secrets(namespace: namespace))
            printConfiguration(rows, kind: "Secrets", namespace: namespace, allNamespaces: all.allNamespaces)
        } catch {
            throw fail(error)
        }
    }
}

private func printConfiguration(
    _ rows: [ConfigurationListRenderer.Row], kind: String, namespace: String?, allNamespaces: Bool
) {
    if rows.isEmpty {
        print(namespace.map { "No \(kind) in namespace \"\($0)\"." } ?? "No \(kind).")
    } else {
        print(ConfigurationListRenderer.render(rows, now: Date(), allNamespaces: allNamespaces))
    }
}
