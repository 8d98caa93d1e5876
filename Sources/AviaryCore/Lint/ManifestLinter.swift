import AviaryModel
import Foundation

/// One input of `aviary lint`: a file's name (`-` for stdin) and its bytes.
public struct LintInput: Sendable {
    /// The name printed in front of each problem.
    public var file: String
    /// The file's bytes.
    public var data: Data

    /// An input named `file`.
    public init(file: String, data: Data) {
        self.file = file
        self.data = data
    }
}

/// What `aviary lint` found.
public struct LintReport: Sendable {
    /// Every problem, in file order, then the checks across documents.
    public var diagnostics: [Diagnostic]
    /// How many resources decoded.
    public var resourceCount: Int
    /// How many files were read.
    public var fileCount: Int

    /// Errors found.
    public var errorCount: Int { diagnostics.filter(\.isError).count }
    /// Warnings found.
    public var warningCount: Int { diagnostics.filter(\.isWarning).count }
    /// Documents skipped (kinds Aviary does not read).
    public var skippedCount: Int { diagnostics.filter { $0.severity == .info }.count }
    /// Whether lint fails (exit status 1).
    public var hasErrors: Bool { errorCount > 0 }

    /// `linted 7 resources in 3 files: 0 errors, 1 warning`.
    public var summary: String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        return "linted \(plural(resourceCount, "resource")) in \(plural(fileCount, "file")): "
            + "\(plural(errorCount, "error")), \(plural(warningCount, "warning"))"
            + (skippedCount > 0 ? ", \(plural(skippedCount, "document")) skipped" : "")
    }
}

/// `aviary lint`: decodes and validates every document, then checks the documents against each
/// other (analysis templates present, required arguments supplied, `{{args.x}}` declared) and
/// parses every condition.
public enum ManifestLinter {
    /// Lints the inputs as one set of manifests.
    public static func lint(_ inputs: [LintInput], decoder: ManifestDecoder = ManifestDecoder()) -> LintReport {
        var diagnostics: [Diagnostic] = []
        var located: [LocatedResource] = []
        for input in inputs {
            let decoded = decoder.decode(input.data, file: input.file)
            diagnostics += decoded.diagnostics
            located += decoded.resources.map { LocatedResource(file: input.file, resource: $0) }
        }
        var checks = CrossDocumentChecks(resources: located)
        diagnostics += checks.run()
        diagnostics += NotificationChecks.run(located)
        diagnostics += PluginConfigurationChecks.run(located)
        return LintReport(diagnostics: diagnostics, resourceCount: located.count, fileCount: inputs.count)
    }
}

/// A resource and the file it came from.
struct LocatedResource {
    var file: String
    var resource: AnyResource
}
