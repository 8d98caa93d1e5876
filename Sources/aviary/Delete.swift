import ArgumentParser
import AviaryClient

/// `aviary delete KIND NAME`.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a resource.",
        discussion: """
            Deleting a rollout stops its pods; deleting a service closes its listener.

            Example:
              aviary delete rollout web
            """)

    @Argument(help: "The kind: rollout, service, analysistemplate, clusteranalysistemplate, analysisrun, experiment, configmap, secret, deployment, replicaset, podtemplate.")
    var kind: String

    @Argument(help: "The resource's name.")
    var name: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            _ = try await options.client.send(
                .DELETE, APIClient.resourcePath(kind: kind, name: name, namespace: options.namespace))
            print("\(kind.lowercased())/\(name) deleted")
        } catch {
            throw fail(error)
        }
    }
}
