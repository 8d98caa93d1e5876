import AviaryModel
import Foundation
import Yams

/// How `aviary get` prints a resource.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// A short summary for people.
    case text
    /// The resource as JSON (pretty, sorted keys).
    case json
    /// The resource as YAML.
    case yaml
}

/// Turns the daemon's JSON answers into what the CLI prints.
public enum Rendering {
    /// Renders a resource object (`GET /api/v1/{kind}/{name}`) in `format`.
    public static func render(_ data: Data, format: OutputFormat) throws -> String {
        switch format {
        case .json:
            let object = try JSONSerialization.jsonObject(with: data)
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: pretty, as: UTF8.self)
        case .yaml:
            let value = try JSONDecoder().decode(JSONValue.self, from: data)
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            return try encoder.encode(value).trimmingCharacters(in: .newlines)
        case .text:
            return summary(of: data)
        }
    }

    /// Name, status, step, weights, images and replica counts of a rollout, one per line.
    public static func summary(of data: Data) -> String {
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        let spec = object["spec"] as? [String: Any] ?? [:]
        let status = object["status"] as? [String: Any] ?? [:]
        let strategy = spec["strategy"] as? [String: Any] ?? [:]
        let steps = ((strategy["canary"] as? [String: Any])?["steps"] as? [Any]) ?? []
        let weights = (status["canary"] as? [String: Any])?["weights"] as? [String: Any]
        let containers =
            ((spec["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []
        var lines = [
            "Name:          \(metadata["name"] as? String ?? "")",
            "Namespace:     \(metadata["namespace"] as? String ?? "default")",
            "Status:        \(status["phase"] as? String ?? "Unknown")"
                + ((status["message"] as? String).map { " - \($0)" } ?? ""),
            "Strategy:      \(strategy["canary"] != nil ? "Canary" : strategy["blueGreen"] != nil ? "BlueGreen" : "-")",
        ]
        if !steps.isEmpty {
            lines.append("Step:          \(status["currentStepIndex"] as? Int ?? 0)/\(steps.count)")
        }
        if let weights {
            let canary = (weights["canary"] as? [String: Any])?["weight"] as? Int ?? 0
            lines.append("ActualWeight:  \(canary)")
        }
        lines.append("Images:        " + containers.compactMap { $0["image"] as? String }.joined(separator: ", "))
        lines.append(
            "Replicas:      desired \(spec["replicas"] as? Int ?? 1), current \(status["replicas"] as? Int ?? 0), "
                + "updated \(status["updatedReplicas"] as? Int ?? 0), ready \(status["readyReplicas"] as? Int ?? 0), "
                + "available \(status["availableReplicas"] as? Int ?? 0)")
        return lines.joined(separator: "\n")
    }
}
