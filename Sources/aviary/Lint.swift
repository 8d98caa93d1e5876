import ArgumentParser
import AviaryCore
import Foundation

/// `aviary lint -f FILE [-f FILE ...]`: checks manifests without applying them.
struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Argo Rollouts manifests (and their Services) for errors without applying them.",
        discussion: """
            Decodes every document of every file (YAML with --- separators, or JSON), checks Argo's \
            field rules, then checks the files as one set: each analysis a Rollout asks for names a \
            template among the files and supplies every argument that has no default, every \
            {{args.name}} a template uses is declared, and every successCondition and \
            failureCondition parses (errors give the line and column inside the condition).

            Each problem is printed as FILE: Kind/name: field.path: message (broken YAML as \
            FILE:LINE:COLUMN: message). Unknown fields are warnings. The exit status is 0 when there \
            is no error, 1 otherwise.

            Example:
              aviary lint -f examples/canary.yaml -f examples/success-rate.yaml
              cat rollout.yaml | aviary lint -f -
              aviary lint -f examples/
            """
    )

    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: ArgumentHelp("A manifest file, a directory of .yaml/.yml/.json files, or - for stdin.", valueName: "file")
    )
    var files: [String] = []

    func validate() throws {
        if files.isEmpty {
            throw ValidationError("give at least one manifest with -f FILE (or -f - for stdin)")
        }
    }

    func run() throws {
        let (inputs, unreadable) = LintFiles.read(files)
        var report = ManifestLinter.lint(inputs)
        report.diagnostics = unreadable + report.diagnostics
        report.fileCount += unreadable.count
        for diagnostic in report.diagnostics {
            print(diagnostic)
        }
        FileHandle.standardError.write(Data((report.summary + "\n").utf8))
        if report.hasErrors {
            throw ExitCode(1)
        }
    }
}
