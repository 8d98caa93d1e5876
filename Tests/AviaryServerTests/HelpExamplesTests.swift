import ArgumentParser
import Foundation
import Testing

@testable import aviary

/// Every `aviary ...` line that a `--help` text or the README shows parses as written, and each
/// file it names with `-f` exists: a newcomer can paste it.
@Suite struct HelpExamplesTests {
    /// Every command reachable from `aviary`, with its path of names.
    static func commands(
        _ command: any ParsableCommand.Type = Aviary.self, path: [String] = ["aviary"]
    ) -> [(path: [String], command: any ParsableCommand.Type)] {
        var found = [(path, command)]
        for sub in command.configuration.subcommands {
            let name = sub.configuration.commandName ?? sub._commandName
            found += commands(sub, path: path + [name])
        }
        return found
    }

    /// The `aviary ...` command lines in `text`: words split as a shell would (quotes kept
    /// together), up to a comment, a pipe, a redirection or a `&`.
    static func commandLines(in text: String) -> [[String]] {
        // A line ending in a backslash goes on on the next one.
        let joined = text.replacingOccurrences(of: "\\\n", with: " ")
        return joined.split(separator: "\n").compactMap { line -> [String]? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("aviary ") else { return nil }
            var words: [String] = []
            var word = ""
            var quote: Character?
            var inWord = false
            for character in trimmed {
                if let open = quote {
                    if character == open { quote = nil } else { word.append(character) }
                    continue
                }
                if character == "\"" || character == "'" {
                    quote = character
                    inWord = true
                } else if character == " " {
                    if inWord { words.append(word) }
                    word = ""
                    inWord = false
                } else if "#|&>".contains(character) && !inWord {
                    break
                } else {
                    word.append(character)
                    inWord = true
                }
            }
            if inWord { words.append(word) }
            return Array(words.dropFirst())
        }
    }

    static var helpExamples: [[String]] {
        commands().flatMap { commandLines(in: $0.command.configuration.discussion) }
    }

    /// The README's and the docs' shell blocks.
    static var documentedCommands: [(file: String, arguments: [String])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: root.path + "/docs")) ?? []
        let files = ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return files.flatMap { file -> [(file: String, arguments: [String])] in
            guard let text = try? String(contentsOfFile: root.path + "/" + file, encoding: .utf8) else { return [] }
            // Only inside ```sh or ```console blocks.
            var blocks: [String] = []
            var inside = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("```") {
                    inside = !inside && (line.hasPrefix("```sh") || line.hasPrefix("```console"))
                    continue
                }
                if inside { blocks.append(String(line).replacingOccurrences(of: "$ aviary ", with: "aviary ")) }
            }
            return commandLines(in: blocks.joined(separator: "\n")).map { (file, $0) }
        }
    }

    @Test func helpExamplesParse() throws {
        let examples = Self.helpExamples
        #expect(examples.count > 20, "the help texts show examples")
        for arguments in examples {
            #expect(throws: Never.self, "aviary \(arguments.joined(separator: " "))") {
                _ = try Aviary.parseAsRoot(arguments)
            }
        }
    }

    @Test func documentedCommandsParse() throws {
        let commands = Self.documentedCommands
        #expect(commands.count > 20, "the README and docs show commands")
        for (file, arguments) in commands {
            #expect(throws: Never.self, "\(file): aviary \(arguments.joined(separator: " "))") {
                _ = try Aviary.parseAsRoot(arguments)
            }
        }
    }

    @Test func filesTheExamplesNameExist() {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let all = Self.helpExamples.map { ("--help", $0) } + Self.documentedCommands.map { ($0.file, $0.arguments) }
        for (source, arguments) in all {
            for (index, word) in arguments.enumerated() where (word == "-f" || word == "--file") && index + 1 < arguments.count {
                let path = arguments[index + 1]
                guard path.hasPrefix("examples/") else { continue }
                #expect(FileManager.default.fileExists(atPath: root + "/" + path), "\(source): aviary \(arguments.joined(separator: " ")): \(path) is missing")
            }
        }
    }
}
