import ArgumentParser
import AviaryClient

/// `aviary logs POD`.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a pod's output (stdout and stderr).",
        discussion: """
            Pods of the local platform write to STATE_DIR/logs/POD.log; this prints that file through \
            the daemon. `aviary get rollout NAME -o json` and GET /api/v1/pods list the pod names.

            Example:
              aviary logs web-6f7d9c8b5-x2k4q
            """)

    @Argument(help: "The pod's name.")
    var pod: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let data = try await options.client.send(.GET, "/api/v1/pods/\(pod)/logs")
            print(String(decoding: data, as: UTF8.self), terminator: "")
        } catch {
            throw fail(error)
        }
    }
}
