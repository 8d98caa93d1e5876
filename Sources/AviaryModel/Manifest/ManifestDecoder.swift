import AviaryJSON
import Foundation
import Yams

/// One document of a manifest file: the resource decoded from it, if any.
public struct ManifestDocument: Sendable, Hashable {
    /// The 0-based position of the document in its file.
    public var index: Int
    /// The 1-based line where the document starts.
    public var line: Int
    /// The resource, nil when the document could not be decoded.
    public var resource: AnyResource?
    /// The document as read, before typed decoding (used by checks across documents).
    public var value: JSONValue

    /// A decoded document.
    public init(index: Int, line: Int, resource: AnyResource?, value: JSONValue) {
        self.index = index
        self.line = line
        self.resource = resource
        self.value = value
    }
}

/// The result of decoding one manifest file: its documents and every problem found.
public struct DecodedManifests: Sendable, Hashable {
    /// The documents in file order.
    public var documents: [ManifestDocument]
    /// Errors and warnings, in file order.
    public var diagnostics: [Diagnostic]

    /// The resources that decoded.
    public var resources: [AnyResource] { documents.compactMap(\.resource) }
    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains(where: \.isError) }
}

/// Manifests that could not be used, with every problem found.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// The problems, errors first.
    public var diagnostics: [Diagnostic]
    /// One problem per line.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Decodes YAML (several documents separated by `---`) or JSON into resources, with
/// diagnostics that name the file, the resource and the field path.
///
/// Bad input never crashes: binary data, oversized files, deeply nested documents and alias
/// bombs are refused with a message before the YAML parser sees them.
public struct ManifestDecoder: Sendable {
    /// Files larger than this are refused (Kubernetes itself stores objects of at most 1.5 MB).
    public var maximumBytes = 8 * 1024 * 1024
    /// Documents nesting deeper than this are refused before parsing: the parser and Codable recurse
    /// once per level, and test tasks run on small stacks. Manifests nest about 15 levels.
    public var maximumDepth = 64
    /// Documents expanding (through YAML aliases) to more values than this are refused.
    public var maximumValues = 2_000_000
    /// Whether to run the field validation rules after decoding.
    public var validates = true

    /// A decoder with the default limits.
    public init() {}

    /// Decodes the bytes of `file`: UTF-8 text holding YAML or JSON.
    public func decode(_ data: Data, file: String) -> DecodedManifests {
        if data.count > maximumBytes {
            return failure(
                file,
                "file is \(Self.size(data.count)), larger than the \(Self.size(maximumBytes)) Aviary reads; "
                    + "split it into smaller manifest files")
        }
        if let zero = data.firstIndex(of: 0) {
            return failure(
                file, "not a text file (byte \(zero - data.startIndex) is NUL); give a YAML or JSON manifest")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return failure(file, "not UTF-8 text (a binary file?); give a YAML or JSON manifest")
        }
        return decode(text, file: file)
    }

    /// Decodes `text` read from `file`.
    public func decode(_ text: String, file: String) -> DecodedManifests {
        if text.utf8.count > maximumBytes {
            return failure(
                file,
                "file is \(Self.size(text.utf8.count)), larger than the \(Self.size(maximumBytes)) Aviary reads; "
                    + "split it into smaller manifest files")
        }
        if let excess = YAMLDepthScanner.firstExcess(in: text, limit: maximumDepth) {
            var diagnostic = Diagnostic(
                file: file, resource: nil, path: "",
                message: "nested more than \(maximumDepth) levels deep (about \(excess.depth) here); "
                    + "no manifest nests this deep, check the indentation and brackets")
            diagnostic.line = excess.line
            diagnostic.column = 1
            return DecodedManifests(documents: [], diagnostics: [diagnostic])
        }
        var result = DecodedManifests(documents: [], diagnostics: [])
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
        } catch {
            result.diagnostics.append(syntaxDiagnostic(error, file: file, text: text))
            return result
        }
        var index = 0
        var sawContent = false
        while true {
            let node: Node?
            do {
                node = try parser.nextRoot()
            } catch {
                result.diagnostics.append(syntaxDiagnostic(error, file: file, text: text))
                break
            }
            guard let node else { break }
            defer { index += 1 }
            let line = node.mark?.line ?? 1
            var budget = maximumValues
            let value: JSONValue
            do {
                value = try Self.jsonValue(of: node, budget: &budget)
            } catch let error as ValueError {
                result.diagnostics.append(
                    Diagnostic(
                        file: file, resource: "document \(index + 1)", path: "", message: error.description,
                        line: error.mark?.line ?? line, column: error.mark?.column ?? 1))
                continue
            } catch {
                result.diagnostics.append(syntaxDiagnostic(error, file: file, text: text))
                continue
            }
            if value == .null { continue }
            sawContent = true
            // `kubectl get -o yaml` wraps several objects in a v1 List; each item is a resource.
            if value["apiVersion"] == .string("v1"), value["kind"] == .string("List"),
                case .array(let items)? = value["items"]
            {
                for (offset, item) in items.enumerated() {
                    let (resource, diagnostics) = decodeDocument(
                        item, file: file, label: "document \(index + 1) item \(offset)")
                    result.documents.append(ManifestDocument(index: index, line: line, resource: resource, value: item))
                    result.diagnostics += diagnostics
                }
                continue
            }
            let (resource, diagnostics) = decodeDocument(value, file: file, label: "document \(index + 1)")
            result.documents.append(ManifestDocument(index: index, line: line, resource: resource, value: value))
            result.diagnostics += diagnostics
        }
        if !sawContent && result.diagnostics.isEmpty {
            result.diagnostics.append(
                Diagnostic(
                    file: file, resource: nil, path: "",
                    message: "holds no manifest (the file is empty or only comments); "
                        + "give at least one document with apiVersion, kind, metadata and spec"))
        }
        return result
    }

    /// Decodes `text` and returns its resources, or throws every error found.
    /// Warnings do not make it throw.
    public func resources(from text: String, file: String = "-") throws(ManifestError) -> [AnyResource] {
        let decoded = decode(text, file: file)
        let errors = decoded.diagnostics.filter(\.isError)
        guard errors.isEmpty else { throw ManifestError(diagnostics: errors) }
        return decoded.resources
    }

    // MARK: - One document

    private func decodeDocument(
        _ value: JSONValue, file: String, label fallback: String
    ) -> (AnyResource?, [Diagnostic]) {
        guard case .object(let members) = value else {
            return (
                nil,
                [
                    Diagnostic(
                        file: file, resource: fallback, path: "",
                        message:
                            "expected a mapping with apiVersion, kind, metadata and spec, got \(value.kindDescription)"
                    )
                ]
            )
        }
        let name = members["metadata"]?["name"]?.stringValue
        let kindValue = members["kind"]
        let reference = { (kind: String) in name.map { "\(kind)/\($0)" } ?? fallback }
        func failure(_ path: String, _ message: String, kind: String? = nil) -> (AnyResource?, [Diagnostic]) {
            (nil, [Diagnostic(file: file, resource: kind.map(reference) ?? fallback, path: path, message: message)])
        }
        let known = ResourceKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let kindValue else {
            return failure("kind", "required field is missing; one of \(known)")
        }
        guard let kind = kindValue.stringValue else {
            return failure("kind", "expected a string, got \(kindValue.kindDescription); one of \(known)")
        }
        guard let expected = ResourceKind(rawValue: kind) else {
            // Teams keep Ingresses, VirtualServices, Deployments... beside their Rollouts: those are
            // skipped with a line saying so. A misspelt kind of Argo's group, or a known kind in the
            // wrong case, is an error.
            let apiVersion = members["apiVersion"]?.stringValue ?? ""
            let misspelt =
                apiVersion.hasPrefix("argoproj.io/")
                || ResourceKind.allCases.contains { $0.rawValue.lowercased() == kind.lowercased() }
            guard !misspelt, !apiVersion.isEmpty else {
                return failure("kind", "unknown kind \"\(kind)\"; Aviary reads \(known)")
            }
            return (
                nil,
                [
                    Diagnostic(
                        severity: .info, file: file, resource: reference(kind), path: "",
                        message: "skipped: Aviary does not read kind \(kind) (\(apiVersion)); it reads \(known)")
                ]
            )
        }
        let apiVersion = members["apiVersion"]
        if apiVersion?.stringValue != expected.apiVersion {
            let got = apiVersion.map { $0.stringValue.map { "\"\($0)\"" } ?? $0.kindDescription } ?? "nothing"
            return failure(
                "apiVersion", "must be \"\(expected.apiVersion)\" for kind \(kind), got \(got)", kind: kind)
        }
        let resourceName = reference(kind)
        do {
            let data = try Self.jsonEncoder.encode(value)
            let resource: AnyResource
            switch expected {
            case .rollout: resource = .rollout(try Self.jsonDecoder.decode(Rollout.self, from: data))
            case .analysisTemplate:
                resource = .analysisTemplate(try Self.jsonDecoder.decode(AnalysisTemplate.self, from: data))
            case .clusterAnalysisTemplate:
                resource = .clusterAnalysisTemplate(
                    try Self.jsonDecoder.decode(ClusterAnalysisTemplate.self, from: data))
            case .analysisRun: resource = .analysisRun(try Self.jsonDecoder.decode(AnalysisRun.self, from: data))
            case .experiment: resource = .experiment(try Self.jsonDecoder.decode(Experiment.self, from: data))
            case .configMap: resource = .configMap(try Self.jsonDecoder.decode(ConfigMap.self, from: data))
            case .secret: resource = .secret(try Self.jsonDecoder.decode(Secret.self, from: data))
            case .deployment, .replicaSet, .podTemplate:
                resource = .workload(try Self.jsonDecoder.decode(Workload.self, from: data))
            case .service: resource = .service(try Self.jsonDecoder.decode(Service.self, from: data))
            }
            var diagnostics = unknownFields(in: value, resource: resource).map {
                Diagnostic(
                    severity: $0.severity, file: file, resource: resourceName, path: $0.path, message: $0.message)
            }
            if validates {
                diagnostics += ManifestValidator.validate(resource).map {
                    Diagnostic(
                        severity: $0.severity, file: file, resource: resourceName, path: $0.path, message: $0.message)
                }
            }
            return (resource, diagnostics)
        } catch let error as DecodingError {
            let issue = Self.issue(for: error, in: value)
            if issue.path == "status" || issue.path.hasPrefix("status."), members["status"] != nil {
                // A status the resource cannot keep (a reason a later Argo adds, or a hand-written
                // one): apply drops a manifest's status, as the API server does for a resource
                // with a status subresource, so the rest is read and the status is a warning.
                var rest = members
                rest["status"] = nil
                let (resource, diagnostics) = decodeDocument(.object(rest), file: file, label: fallback)
                let warning = Diagnostic(
                    severity: .warning, file: file, resource: resourceName, path: issue.path,
                    message: "\(issue.message); status is ignored: the controller writes it, and apply drops it "
                        + "(remove status: from the manifest to silence this)")
                return (resource, [warning] + diagnostics)
            }
            return (nil, [Diagnostic(file: file, resource: resourceName, path: issue.path, message: issue.message)])
        } catch {
            return (nil, [Diagnostic(file: file, resource: resourceName, path: "", message: "\(error)")])
        }
    }

    /// Fields present in the document that the typed resource does not keep.
    ///
    /// Every known field round-trips (optionals stay absent, values encode as read), so a key of
    /// the input that is missing from the re-encoded resource is a field Aviary does not know.
    private func unknownFields(in value: JSONValue, resource: AnyResource) -> [FieldIssue] {
        guard let data = try? Self.jsonEncoder.encode(resource),
            let encoded = try? Self.jsonDecoder.decode(JSONValue.self, from: data)
        else { return [] }
        var issues: [FieldIssue] = []
        func compare(_ input: JSONValue, _ kept: JSONValue, _ path: String) {
            switch (input, kept) {
            case (.object(let inputMembers), .object(let keptMembers)):
                for key in inputMembers.keys.sorted() {
                    let member = inputMembers[key] ?? .null
                    if let keptMember = keptMembers[key] {
                        compare(member, keptMember, FieldPath.member(path, key))
                    } else if member != .null {
                        issues.append(
                            FieldIssue(
                                FieldPath.member(path, key), "unknown field \"\(key)\", ignored; check its spelling",
                                severity: .warning))
                    }
                }
            case (.array(let inputElements), .array(let keptElements)):
                for (offset, pair) in zip(inputElements, keptElements).enumerated() {
                    compare(pair.0, pair.1, FieldPath.index(path, offset))
                }
            default:
                break
            }
        }
        compare(value, encoded, "")
        return issues
    }

    private func failure(_ file: String, _ message: String) -> DecodedManifests {
        DecodedManifests(
            documents: [], diagnostics: [Diagnostic(file: file, resource: nil, path: "", message: message)])
    }

    private static func size(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_048_576)
    }

    // MARK: - YAML to values

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return encoder
    }()
    static let jsonDecoder = JSONDecoder()

    /// A problem converting a YAML node to a plain value.
    struct ValueError: Error, CustomStringConvertible {
        var description: String
        /// Where the problem is, when one node is to blame.
        var mark: Mark? = nil
    }

    /// Converts a composed YAML node to a plain value, resolving scalars by their YAML tags
    /// (`10` is a number, `"10"` a string) and applying `<<` merge keys.
    static func jsonValue(of node: Node, budget: inout Int) throws -> JSONValue {
        budget -= 1
        if budget < 0 {
            throw ValueError(
                description: "expands to too many values (YAML aliases repeating a large block?); "
                    + "write the values out or split the document")
        }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int:
                if let number = node.int { return .integer(Int64(number)) }
                return node.float.map(JSONValue.double) ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            elements.reserveCapacity(sequence.count)
            for element in sequence {
                elements.append(try jsonValue(of: element, budget: &budget))
            }
            return .array(elements)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            var merged: [String: JSONValue] = [:]
            for (key, value) in mapping {
                if key.tag.rawValue == Tag.Name.merge.rawValue {
                    let sources: [Node] = value.sequence.map(Array.init) ?? [value]
                    for source in sources {
                        guard case .object(let sourceMembers) = try jsonValue(of: source, budget: &budget) else {
                            throw ValueError(description: "a `<<` merge key needs a mapping or a list of mappings")
                        }
                        merged.merge(sourceMembers) { first, _ in first }
                    }
                    continue
                }
                guard case .scalar(let keyScalar) = key else {
                    throw ValueError(
                        description: "a mapping key is itself a mapping or list; manifest keys are field names "
                            + "(an unquoted {{...}} value reads as a mapping: quote it, \"{{args.name}}\")",
                        mark: key.mark)
                }
                members[keyScalar.string] = try jsonValue(of: value, budget: &budget)
            }
            members.merge(merged) { own, _ in own }
            return .object(members)
        case .alias:
            throw ValueError(description: "an unresolved YAML alias")
        }
    }

    private func syntaxDiagnostic(_ error: any Error, file: String, text: String) -> Diagnostic {
        var diagnostic = Diagnostic(file: file, resource: nil, path: "", message: "")
        let mark: Mark?
        let problem: String
        switch error as? YamlError {
        case .scanner(let context, let text, let at, _), .parser(let context, let text, let at, _),
            .composer(let context, let text, let at, _):
            mark = at
            problem = context.map { "\(text) (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? text
        case .reader(let text, _, _, _):
            mark = nil
            problem = text
        case .duplicatedKeysInMapping(let duplicates, let context):
            mark = context.mark
            problem = "duplicate key \(duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")) in a mapping"
        default:
            mark = nil
            problem = "\(error)"
        }
        diagnostic.line = mark?.line ?? 1
        diagnostic.column = mark?.column ?? 1
        let looksLikeJSON = text.first { !$0.isWhitespace }.map { $0 == "{" || $0 == "[" } ?? false
        diagnostic.message = "not valid \(looksLikeJSON ? "JSON" : "YAML"): \(problem)"
        return diagnostic
    }

    // MARK: - Decoding errors

    /// Turns a `DecodingError` into a field path and a message saying what was expected.
    static func issue(for error: DecodingError, in document: JSONValue) -> FieldIssue {
        switch error {
        case .typeMismatch(let type, let context):
            let path = FieldPath.from(context.codingPath)
            let found = value(at: context.codingPath, in: document)
            let got = found.map { describe($0) } ?? "something else"
            var hint = ""
            if type == String.self, let found {
                switch found {
                case .bool(let flag): hint = "; quote the value to keep it a string, e.g. \"\(flag)\""
                case .integer(let number): hint = "; quote the value to keep it a string, e.g. \"\(number)\""
                case .double(let number): hint = "; quote the value to keep it a string, e.g. \"\(number)\""
                default: break
                }
            }
            return FieldIssue(path, "expected \(describe(type)), got \(got)\(hint)")
        case .valueNotFound(let type, let context):
            return FieldIssue(FieldPath.from(context.codingPath), "must not be null; expected \(describe(type))")
        case .keyNotFound(let key, let context):
            let hint = requiredFieldHints[key.stringValue].map { "; \($0)" } ?? ""
            return FieldIssue(
                FieldPath.member(FieldPath.from(context.codingPath), key.stringValue), "required\(hint)")
        case .dataCorrupted(let context):
            let path = FieldPath.from(context.codingPath)
            if context.debugDescription.hasPrefix("invalid duration") || context.debugDescription.hasPrefix("expected")
            {
                return FieldIssue(path, context.debugDescription)
            }
            let got = value(at: context.codingPath, in: document).map { describe($0) } ?? "an invalid value"
            return FieldIssue(path, "cannot read \(got): \(context.debugDescription)")
        @unknown default:
            return FieldIssue("", "\(error)")
        }
    }

    /// What to write for a required field that is missing, by field name.
    static let requiredFieldHints: [String: String] = [
        "metadata": "give at least metadata: {name: <name>}",
        "spec": "the resource has no spec",
        "strategy": "set canary: {...} or blueGreen: {...}",
        "provider": "set exactly one provider (prometheus, web, job, ...)",
        "containers": "list the containers, e.g. [{name: app, image: app:v1, command: [app]}]",
        "activeService": "name the Service that receives production traffic",
        "metrics": "list the metrics to measure",
        "templates": "list at least one template",
        "template": "give the pod template to run",
        "port": "give the port number",
        "name": "give a name",
        "url": "give the URL to request",
        "headerName": "give the header's name",
        "headerValue": "give exact, prefix or regex",
        "specRef": "say stable or canary",
        "templateName": "name an AnalysisTemplate",
        "containerPort": "give the port number the container listens on",
        "metricName": "name a metric",
        "limit": "give the number of measurements to keep",
        "fieldPath": "give the path of a field, e.g. metadata.name",
    ]

    private static func value(at codingPath: [any CodingKey], in document: JSONValue) -> JSONValue? {
        var current = document
        for key in codingPath {
            if let index = key.intValue, case .array(let elements) = current, elements.indices.contains(index) {
                current = elements[index]
            } else if let next = current[key.stringValue] {
                current = next
            } else {
                return nil
            }
        }
        return current
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let number): "a number (\(number))"
        case .double(let number): "a number (\(number))"
        case .string(let text): "a string (\"\(text.count > 40 ? text.prefix(40) + "..." : text)\")"
        case .bool(let flag): "a boolean (\(flag))"
        default: value.kindDescription
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean (true or false)"
        case is [Any].Type: "a list"
        case is [String: Any].Type: "a mapping"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "a mapping"
        }
    }
}

/// Encodes resources back to YAML or JSON.
public enum ManifestEncoder {
    /// YAML, one document per resource separated by `---`.
    public static func yaml(_ resources: [AnyResource]) throws -> String {
        let encoder = YAMLEncoder()
        return try resources.map { try encoder.encode($0) }.joined(separator: "---\n")
    }

    /// JSON of one resource, keys sorted, pretty-printed.
    public static func json(_ resource: AnyResource) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(resource)
    }
}

extension ManifestDecoder {
    /// One YAML (or JSON) value, e.g. an annotation that holds a mapping; a syntax error says
    /// its line and column.
    public static func value(ofYAML text: String) throws(ManifestError) -> JSONValue {
        let diagnostic = { (message: String, line: Int?, column: Int?) in
            ManifestError(diagnostics: [
                Diagnostic(file: "-", resource: nil, path: "", message: message, line: line, column: column)
            ])
        }
        do {
            let parser = try Parser(yaml: text)
            guard let node = try parser.nextRoot() else { return .null }
            var budget = ManifestDecoder().maximumValues
            return try jsonValue(of: node, budget: &budget)
        } catch let error as ValueError {
            throw diagnostic(error.description, error.mark?.line, error.mark?.column)
        } catch {
            let syntax = ManifestDecoder().syntaxDiagnostic(error, file: "-", text: text)
            throw diagnostic(syntax.message, syntax.line, syntax.column)
        }
    }
}
