import ArgumentParser
import Foundation
import KubernetesTestDouble

/// `aviary-test-apiserver`: the Kubernetes API server test double, for tests and by hand.
@main
struct TestAPIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aviary-test-apiserver",
        abstract: "A Kubernetes API server test double for kubectl and client tests (in memory, plain HTTP on loopback).",
        discussion: "Prints `listening on http://127.0.0.1:PORT` as its first line. See docs/kubernetes-test-apiserver.md.")

    @Option(help: "The port to listen on, on 127.0.0.1; 0 picks a free port.")
    var port: Int

    @Option(help: "Write a kubeconfig for the double (context aviary-test) to this file.")
    var kubeconfigOut: String?

    @Option(help: "Seconds after creation at which the simulated ReplicaSet pods become Ready.")
    var podReadyAfter: Double = 0

    @Option(help: "Answer 401 to API requests without `Authorization: Bearer TOKEN`.")
    var requireToken: String?

    func validate() throws {
        guard (0...65535).contains(port) else {
            throw ValidationError("--port \(port) is not a TCP port; give 0 (any free port) to 65535")
        }
        guard podReadyAfter >= 0 else {
            throw ValidationError("--pod-ready-after \(podReadyAfter) is negative; give 0 or more seconds")
        }
    }

    func run() async throws {
        let server = try await TestAPIServer.start(
            port: port, podReadyAfter: .milliseconds(Int64(podReadyAfter * 1000)), requiredToken: requireToken)
        if let kubeconfigOut {
            do {
                try Kubeconfig.make(server: server.url, token: requireToken)
                    .write(toFile: kubeconfigOut, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("--kubeconfig-out \(kubeconfigOut): cannot write the kubeconfig (\(error))")
            }
        }
        FileHandle.standardOutput.write(Data("listening on \(server.url)\n".utf8))
        try await server.waitUntilClosed()
    }
}
