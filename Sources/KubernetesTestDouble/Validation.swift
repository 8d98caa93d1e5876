import AviaryJSON
import Foundation

/// The checks the real API server makes on metadata that clients trip on, with its wording.
enum Validation {
    /// The real server's limit on all annotations of one object together (keys and values).
    static let totalAnnotationSizeLimit = 262_144

    static func validateForCreate(_ object: JSONValue, type: ResourceType, name: String) throws(StatusError) {
        var causes: [FieldError] = []
        if name.isEmpty {
            causes.append(.required("metadata.name", "Required value: name or generateName is required"))
        } else {
            causes += nameErrors(name, type: type)
        }
        causes += metadataErrors(object)
        if !causes.isEmpty { throw .invalid(type, name: name, causes: causes) }
    }

    static func validateForUpdate(_ object: JSONValue, type: ResourceType, name: String) throws(StatusError) {
        let causes = metadataErrors(object)
        if !causes.isEmpty { throw .invalid(type, name: name, causes: causes) }
    }

    /// Checks that need more than metadata: a CRD's name must be `plural.group`.
    static func validateSemantics(_ object: JSONValue, type: ResourceType, registry: ResourceRegistry)
        throws(StatusError)
    {
        guard type.groupResource == .customResourceDefinitions else { return }
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        let plural = object[path: ["spec", "names", "plural"]]?.stringValue ?? ""
        let group = object[path: ["spec", "group"]]?.stringValue ?? ""
        var causes: [FieldError] = []
        if plural.isEmpty { causes.append(.required("spec.names.plural")) }
        if group.isEmpty { causes.append(.required("spec.group")) }
        if (object[path: ["spec", "names", "kind"]]?.stringValue ?? "").isEmpty {
            causes.append(.required("spec.names.kind"))
        }
        let scope = object[path: ["spec", "scope"]]?.stringValue ?? ""
        if scope != "Namespaced", scope != "Cluster" {
            causes.append(
                FieldError(
                    field: "spec.scope", reason: "FieldValueNotSupported",
                    message: "Unsupported value: \"\(scope)\": supported values: \"Cluster\", \"Namespaced\""))
        }
        if !plural.isEmpty, !group.isEmpty, name != "\(plural).\(group)" {
            causes.append(.invalidValue("metadata.name", value: name, "must be spec.names.plural+\".\"+spec.group"))
        }
        if (object[path: ["spec", "versions"]]?.arrayValue ?? []).isEmpty {
            causes.append(.required("spec.versions", "Invalid value: null: must have exactly one version marked as storage version"))
        }
        if !causes.isEmpty { throw .invalid(type, name: name, causes: causes) }
    }

    /// The name rule of the kind: Namespaces are RFC 1123 labels, Services DNS-1035 labels,
    /// Events any path segment, everything else RFC 1123 subdomains.
    static func nameErrors(_ name: String, type: ResourceType) -> [FieldError] {
        var messages: [String] = []
        switch (type.group, type.resource) {
        case ("", "namespaces"): messages = dns1123LabelErrors(name)
        case ("", "services"): messages = dns1035LabelErrors(name)
        case ("", "events"): messages = pathSegmentErrors(name)
        default: messages = dns1123SubdomainErrors(name)
        }
        return messages.map { .invalidValue("metadata.name", value: name, $0) }
    }

    static func dns1123SubdomainErrors(_ name: String) -> [String] {
        var errors: [String] = []
        if name.count > 253 { errors.append("must be no more than 253 characters") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if name.isEmpty || !labels.allSatisfy({ isLabel($0, firstAlphabetic: false) }) {
            errors.append(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                    + "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                    + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
        }
        return errors
    }

    static func dns1123LabelErrors(_ name: String) -> [String] {
        var errors: [String] = []
        if name.count > 63 { errors.append("must be no more than 63 characters") }
        if !isLabel(Substring(name), firstAlphabetic: false) {
            errors.append(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                    + "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                    + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        }
        return errors
    }

    static func dns1035LabelErrors(_ name: String) -> [String] {
        var errors: [String] = []
        if name.count > 63 { errors.append("must be no more than 63 characters") }
        if !isLabel(Substring(name), firstAlphabetic: true) {
            errors.append(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    + "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                    + "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        }
        return errors
    }

    static func pathSegmentErrors(_ name: String) -> [String] {
        if name == "." || name == ".." { return ["may not be '\(name)'"] }
        if name.contains("/") { return ["may not contain '/'"] }
        if name.contains("%") { return ["may not contain '%'"] }
        return []
    }

    private static func isLabel(_ label: Substring, firstAlphabetic: Bool) -> Bool {
        guard let first = label.first, let last = label.last else { return false }
        let isLowerAlphanumeric = { (c: Character) in c.isASCII && (c.isLowercase || c.isNumber) }
        guard firstAlphabetic ? (first.isASCII && first.isLowercase) : isLowerAlphanumeric(first) else { return false }
        guard isLowerAlphanumeric(last) else { return false }
        return label.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    /// Annotation size and label values, as `ValidateObjectMeta` checks them.
    static func metadataErrors(_ object: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        let annotations = object[path: ["metadata", "annotations"]]?.objectValue ?? [:]
        let total = annotations.reduce(0) { $0 + $1.key.utf8.count + ($1.value.stringValue?.utf8.count ?? 0) }
        if total > totalAnnotationSizeLimit {
            errors.append(.tooLong("metadata.annotations", limit: totalAnnotationSizeLimit))
        }
        let labels = object[path: ["metadata", "labels"]]?.objectValue ?? [:]
        for (_, value) in labels.sorted(by: { $0.key < $1.key }) {
            let text = value.stringValue ?? ""
            if !isLabelValue(text) {
                errors.append(
                    .invalidValue(
                        "metadata.labels", value: text,
                        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                            + "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
                            + "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
            }
        }
        return errors
    }

    private static func isLabelValue(_ value: String) -> Bool {
        if value.isEmpty { return true }
        guard value.count <= 63, let first = value.first, let last = value.last else { return false }
        let isAlphanumeric = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber) }
        return isAlphanumeric(first) && isAlphanumeric(last)
            && value.allSatisfy { isAlphanumeric($0) || "-_.".contains($0) }
    }
}
