import AviaryModel

/// A template or Service that one document names: what an apply looks up among the stored
/// resources.
public struct ResourceReference: Hashable, Sendable, Comparable {
    /// `AnalysisTemplate`, `ClusterAnalysisTemplate` or `Service`.
    public var kind: ResourceKind
    /// Its namespace; empty for a `ClusterAnalysisTemplate`.
    public var namespace: String
    /// Its name.
    public var name: String

    /// A reference.
    public init(kind: ResourceKind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: ResourceReference, rhs: ResourceReference) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// What `apply` checks beyond decoding, so that it refuses what `lint` refuses: conditions that
/// do not parse, `{{args.x}}` a template does not declare, arguments a named template requires
/// and the analysis does not supply, names defined twice. The other documents are those of the
/// same apply plus the stored templates and Services they name; a template or Service that is
/// neither is only a warning, since the next apply may bring it.
public enum AdmissionChecks {
    /// How many rounds of look-ups (a template that includes a template that includes ...) are followed.
    static let maximumLookupRounds = 4

    /// The diagnostics of `incoming` (decoded from `file`); `lookup` returns the stored resources
    /// among the references it is given (those it does not have are left out).
    public static func check(
        _ incoming: [AnyResource], file: String, lookup: ([ResourceReference]) throws -> [AnyResource]
    ) rethrows -> [Diagnostic] {
        let applied = incoming.map { LocatedResource(file: file, resource: $0) }
        var stored: [LocatedResource] = []
        var asked: Set<ResourceReference> = []
        for _ in 0..<maximumLookupRounds {
            var checks = CrossDocumentChecks(resources: applied + stored, isAdmission: true)
            _ = checks.run()
            let wanted = checks.missing.subtracting(asked)
            guard !wanted.isEmpty else { break }
            asked.formUnion(wanted)
            // Stored resources carry a file name no input can have, so their own problems are dropped below.
            stored += try lookup(wanted.sorted()).map { LocatedResource(file: "\u{0}stored", resource: $0) }
        }
        var checks = CrossDocumentChecks(resources: applied + stored, isAdmission: true)
        // A plugin list Argo could not read is refused as lint refuses it.
        return checks.run().filter { $0.file == file } + PluginConfigurationChecks.run(applied)
    }
}
