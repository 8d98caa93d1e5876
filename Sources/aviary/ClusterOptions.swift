import ArgumentParser
import AviaryClient
import Foundation

/// The flags that point a verb at a Kubernetes API server instead of the daemon (cluster mode).
///
/// The rule: a verb uses a cluster exactly when one of `--kubeconfig`, `--context` or `--kubernetes`
/// is given; otherwise it talks to the daemon as always (`KUBECONFIG` alone changes nothing). In
/// cluster mode the kubeconfig is found as kubectl finds it (`--kubeconfig`, else `KUBECONFIG`, else
/// `~/.kube/config`), `-n` defaults to the context's namespace, and the writes are those of Argo's
/// `kubectl argo rollouts` plugin, so it works whichever controller runs in the cluster.
struct ClusterOptions: ParsableArguments {
    @Option(help: "Cluster mode: talk to the API server of this kubeconfig instead of the daemon.")
    var kubeconfig: String?

    @Option(help: "Cluster mode: the kubeconfig context to use (default: its current context).")
    var context: String?

    @Flag(help: "Cluster mode with kubectl's kubeconfig ($KUBECONFIG or ~/.kube/config) and its current context.")
    var kubernetes = false

    /// Whether the verb talks to a cluster.
    var isClusterMode: Bool { kubeconfig != nil || context != nil || kubernetes }

    /// Refuses a daemon flag beside a cluster flag: which one is meant cannot be guessed.
    func validate(with options: ServerOptions) throws {
        guard isClusterMode else { return }
        if options.server != nil || options.token != nil {
            throw ValidationError(
                "--server/--token name a daemon and --kubeconfig/--context/--kubernetes a cluster; "
                    + "give one or the other")
        }
    }

    /// Connects to the cluster, runs `body`, closes the connections; a failure is printed as one line
    /// and exits 1.
    func run<Result>(
        _ options: ServerOptions, _ body: (ClusterClient) async throws(ClusterFailure) -> Result
    ) async throws -> Result {
        let outcome: Swift.Result<Result, ClusterFailure>
        do throws(ClusterFailure) {
            let client = try ClusterClient.connect(
                kubeconfig: kubeconfig, context: context, namespace: options.namespaceOption)
            do throws(ClusterFailure) {
                outcome = .success(try await body(client))
            } catch {
                outcome = .failure(error)
            }
            await client.shutdown()
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let failure):
            printError(failure.description)
            throw ExitCode.failure
        }
    }

    /// Connects to the cluster for a verb that runs until the process ends (`--watch`); a failure to
    /// connect is printed as one line and exits 1.
    func connect(_ options: ServerOptions) throws -> ClusterClient {
        do throws(ClusterFailure) {
            return try ClusterClient.connect(kubeconfig: kubeconfig, context: context, namespace: options.namespaceOption)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
