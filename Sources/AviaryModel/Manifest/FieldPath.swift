/// Builds Kubernetes-style field paths: `spec.strategy.canary.steps[1].setWeight`,
/// `metadata.labels[app.kubernetes.io/name]`.
enum FieldPath {
    /// `path.key`, or `path[key]` when the key is not a plain identifier.
    static func member(_ path: String, _ key: String) -> String {
        let isIdentifier =
            !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
        if !isIdentifier { return "\(path)[\(key)]" }
        return path.isEmpty ? key : "\(path).\(key)"
    }

    /// `path[index]`.
    static func index(_ path: String, _ index: Int) -> String {
        "\(path)[\(index)]"
    }

    /// The path of a `Decodable` coding path.
    static func from(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce("") { path, key in
            if let index = key.intValue { return Self.index(path, index) }
            return member(path, key.stringValue)
        }
    }
}
