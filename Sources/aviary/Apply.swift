import ArgumentParser
import AviaryClient
import AviaryModel
import Foundation

/// `aviary apply -f FILE`: sends manifests to the daemon.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update resources from manifest files.",
        discussion: """
            Sends each file (YAML or JSON, several documents allowed) to the daemon, which checks \
            it as `aviary lint` does: a file with an invalid document (a field rule, a condition that \
            does not parse, an argument a template requires and the analysis does not supply) changes \
            nothing; the errors name the file, the document and the field. Warnings (an unknown field, \
            which is ignored; a template or Service neither in the file nor applied before) are \
            printed to standard error and the file is applied; --strict refuses it instead. Files \
            without a Rollout or Experiment are sent first, so a rollout's templates and Services are \
            there when it is checked.

            Example:
              aviary apply -f rollout.yaml -f services.yaml
            """)

    @Option(name: .shortAndLong, help: "A manifest file (`-` for standard input); repeatable.")
    var file: [String]

    @Flag(help: "Refuse a file with warnings (unknown fields) instead of applying it.")
    var strict = false

    @OptionGroup var options: ServerOptions

    func validate() throws {
        if file.isEmpty { throw ValidationError("pass at least one -f FILE") }
    }

    func run() async throws {
        var files: [(path: String, data: Data)] = []
        for path in file {
            if path == "-" {
                files.append((path, FileHandle.standardInput.readDataToEndOfFile()))
            } else {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    printError("\(path): cannot read the file; check the path")
                    throw ExitCode.failure
                }
                files.append((path, contents))
            }
        }
        for (path, data) in Self.referencedFirst(files) {
            do {
                let result = try await options.client.apply(data, file: path, strict: strict)
                for warning in result.warnings ?? [] { printToStandardError(warning) }
                for entry in result.applied {
                    print("\(entry.kind.lowercased())/\(entry.name) \(entry.outcome)")
                }
            } catch {
                // The daemon's messages about the manifest name the file already.
                let message = error.description
                printError(message.hasPrefix("\(path): ") ? message : "\(path): \(message)")
                throw ExitCode.failure
            }
        }
    }

    /// The files in the order they are sent: those without a Rollout or Experiment first, so the
    /// templates and Services a rollout names are stored when the daemon checks it (whatever the
    /// order of the -f flags); otherwise in the given order.
    static func referencedFirst(_ files: [(path: String, data: Data)]) -> [(path: String, data: Data)] {
        let decoder = ManifestDecoder()
        let referring = files.map { file in
            decoder.decode(file.data, file: file.path).resources.contains {
                switch $0 {
                case .rollout, .experiment: return true
                default: return false
                }
            }
        }
        return files.indices.filter { !referring[$0] }.map { files[$0] } + files.indices.filter { referring[$0] }.map {
            files[$0]
        }
    }
}
