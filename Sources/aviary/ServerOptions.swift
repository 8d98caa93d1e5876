import ArgumentParser
import AviaryClient
import enum AviaryModel.ResourceKind
import Foundation

/// The flags every verb that talks to the daemon shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "The daemon's address (default: $AVIARY_SERVER or http://127.0.0.1:7480).")
    var server: String?

    @Option(help: "The daemon's bearer token (default: $AVIARY_TOKEN).")
    var token: String?

    @Option(
        name: [.short, .customLong("namespace")],
        help: "The namespace (default: default; in cluster mode the kubeconfig context's namespace, else default).")
    var namespaceOption: String?

    /// The namespace the daemon is asked about: `-n`, else `default`.
    var namespace: String { namespaceOption ?? "default" }

    var client: APIClient { APIClient(server: server, token: token) }
}

/// Prints a daemon failure to stderr and exits 1.
func fail(_ failure: APIClient.Failure) -> ExitCode {
    printError(failure.description)
    return ExitCode.failure
}

extension ServerOptions {
    /// Prints the stored resource `kind`/`name` of this namespace as the daemon returns it, in
    /// JSON or (any other `format`) YAML: what `get ... -o json|yaml` prints.
    func printStored(kind: ResourceKind, name: String, json: Bool) async throws {
        let data = try await client.send(.GET, APIClient.resourcePath(kind, name: name, namespace: namespace))
        print(try json ? Rendering.json(data) : Rendering.yaml(data))
    }
}
