import AviaryRoutes
import Foundation
import Yams

extension RouteTable {
    /// The fields the table's shape allows, to find misspelled keys that `Codable` would skip
    /// silently (a `limts:` block would otherwise leave every default in force unnoticed).
    indirect enum Shape: Sendable {
        /// An object with these fields.
        case object([String: Shape])
        /// An object whose keys are names chosen by the user (`services`), each of this shape.
        case namedObjects(Shape)
        /// A list of values of this shape.
        case list(Shape)
        /// A string, number or boolean.
        case scalar

        static let stringMatch = Shape.object(["exact": .scalar, "prefix": .scalar, "regex": .scalar])
        static let headerMatch = Shape.object(["name": .scalar, "exact": .scalar, "prefix": .scalar, "regex": .scalar])
        static let table = Shape.object([
            "services": .namedObjects(.object(["endpoints": .list(.scalar), "protocol": .scalar])),
            "listeners": .list(
                .object([
                    "address": .scalar,
                    "tls": .object([
                        "certificates": .list(
                            .object(["certificateFile": .scalar, "keyFile": .scalar, "serverNames": .list(.scalar)]))
                    ]),
                    "routes": .list(
                        .object([
                            "name": .scalar,
                            "match": .object([
                                "headers": .list(headerMatch),
                                "anyOf": .list(
                                    .object(["method": stringMatch, "path": stringMatch, "headers": .list(headerMatch)])
                                ),
                            ]),
                            "backends": .list(.object(["service": .scalar, "weight": .scalar])),
                            "mirror": .object(["service": .scalar, "percent": .scalar]),
                            "sticky": .object(["cookie": .scalar, "header": .scalar]),
                        ])),
                ])),
            "limits": .object([
                "maxHeaderBytes": .scalar, "maxBodyBytes": .scalar, "connectTimeoutMs": .scalar,
                "responseTimeoutMs": .scalar, "upstreamIdleTimeoutMs": .scalar,
            ]),
        ])
    }

    /// Every key of `text` (YAML or JSON) the table does not know, as
    /// `field.path: unknown field "key"; check its spelling (known here: ...)`, keys sorted
    /// within each object. Text that does not parse yields nothing here: the decoder reports it.
    static func unknownFields(in text: String) -> [String] {
        let tree: Any?
        if text.drop(while: \.isWhitespace).first == "{" {
            tree = try? JSONSerialization.jsonObject(with: Data(text.utf8))
        } else {
            tree = try? Yams.load(yaml: text)
        }
        guard let tree else { return [] }
        var problems: [String] = []
        check(tree, against: Shape.table, path: "", problems: &problems)
        return problems
    }

    private static func check(_ value: Any, against shape: Shape, path: String, problems: inout [String]) {
        switch shape {
        case .scalar:
            return
        case .list(let element):
            guard let items = value as? [Any] else { return }
            for (index, item) in items.enumerated() {
                check(item, against: element, path: "\(path)[\(index)]", problems: &problems)
            }
        case .namedObjects(let element):
            guard let object = value as? [String: Any] else { return }
            for key in object.keys.sorted() {
                check(object[key]!, against: element, path: join(path, key), problems: &problems)
            }
        case .object(let fields):
            guard let object = value as? [String: Any] else { return }
            for key in object.keys.sorted() {
                let value = object[key]!
                if let field = fields[key] {
                    check(value, against: field, path: join(path, key), problems: &problems)
                } else {
                    problems.append(
                        "\(join(path, key)): unknown field \"\(key)\"; check its spelling "
                            + "(known here: \(fields.keys.sorted().joined(separator: ", ")))")
                }
            }
        }
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}
