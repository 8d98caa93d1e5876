import ArgumentParser
import AviaryClient
import Foundation

/// `aviary apply -f FILE`: sends manifests to the daemon.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update resources from manifest files.",
        discussion: """
            Sends each file (YAML or JSON, several documents allowed) to the daemon. A file with an \
            invalid document changes nothing; the errors name the file, the document and the field.

            Example:
              aviary apply -f rollout.yaml -f services.yaml
            """)

    @Option(name: .shortAndLong, help: "A manifest file (`-` for standard input); repeatable.")
    var file: [String]

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if file.isEmpty { throw ValidationError("pass at least one -f FILE") }
    }

    func run() async throws {
        for path in file {
            let data: Data
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    printError("\(path): cannot read the file; check the path")
                    throw ExitCode.failure
                }
                data = contents
            }
            do {
                for entry in try await options.client.apply(data).applied {
                    print("\(entry.kind.lowercased())/\(entry.name) \(entry.outcome)")
                }
            } catch {
                printError("\(path): \(error.description)")
                throw ExitCode.failure
            }
        }
    }
}
