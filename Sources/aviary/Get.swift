import ArgumentParser
import AviaryServer

/// `aviary get rollout NAME [-o json|yaml]`.
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a resource.", subcommands: [GetRollout.self])
}

/// `aviary get rollout NAME`.
struct GetRollout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Show a rollout with its status.",
        discussion: """
            Without -o prints a summary; -o json or -o yaml prints the whole resource with its \
            Argo-shaped status (status.phase, status.currentStepIndex, status.canary.weights, ...).

            Example:
              aviary get rollout web -o json
            """)

    @Argument(help: "The rollout's name.")
    var name: String

    @Option(name: .shortAndLong, help: "Output format: text, json or yaml.")
    var output: String = "text"

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if OutputFormat(rawValue: output) == nil { throw ValidationError("-o \(output): use text, json or yaml") }
    }

    func run() async throws {
        do {
            let data = try await options.client.send(
                .GET, APIClient.resourcePath(kind: "rollouts", name: name, namespace: options.namespace))
            print(try Rendering.render(data, format: OutputFormat(rawValue: output) ?? .text))
        } catch let failure as APIClient.Failure {
            throw fail(failure)
        }
    }
}
