import Foundation
import Testing

@testable import AviaryGoTemplate

/// Argo Rollouts' notification catalog, read from the shared upstream copy without a YAML library.
///
/// The file is a ConfigMap whose `template.*` keys hold a small YAML document each: a one-line
/// `message`, `email.subject`, and a `slack.attachments` literal block. That fixed shape is all
/// this reader understands.
enum ArgoCatalog {
    struct Template {
        var name: String
        /// `message`, `email.subject` and `slack.attachments`, each a Go template.
        var fields: [String: String]
    }

    static func locate(from file: String = #filePath) -> URL? {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("shared/upstream/argo-rollouts/notifications-install.yaml")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    static func load() throws -> [Template] {
        guard let url = locate() else { throw CocoaError(.fileNoSuchFile) }
        let lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        var templates: [Template] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.hasPrefix("  template."), line.hasSuffix(": |") else { continue }
            let name = String(line.dropFirst("  template.".count).dropLast(": |".count))
            var body: [String] = []
            while index < lines.count, lines[index].isEmpty || lines[index].hasPrefix("    ") {
                body.append(String(lines[index].dropFirst(min(4, lines[index].count))))
                index += 1
            }
            templates.append(Template(name: name, fields: fields(of: body)))
        }
        return templates
    }

    /// The three fields of one template document.
    private static func fields(of body: [String]) -> [String: String] {
        var fields: [String: String] = [:]
        var index = 0
        while index < body.count {
            let line = body[index]
            index += 1
            if line.hasPrefix("message: ") {
                fields["message"] = String(line.dropFirst("message: ".count))
            } else if line.hasPrefix("  subject: ") {
                fields["email.subject"] = String(line.dropFirst("  subject: ".count))
            } else if line == "  attachments: |" {
                var block: [String] = []
                while index < body.count, body[index].isEmpty || body[index].hasPrefix("    ") {
                    block.append(body[index])
                    index += 1
                }
                while block.last?.isEmpty == true { block.removeLast() }
                let indent = block.first.map { $0.prefix { $0 == " " }.count } ?? 0
                fields["slack.attachments"] =
                    block.map { String($0.dropFirst(min(indent, $0.count))) }.joined(separator: "\n") + "\n"
            }
        }
        return fields
    }
}

@Suite("Argo Rollouts' notification catalog parses and renders")
struct ArgoCatalogTests {
    static let canaryRollout = """
        {"rollout": {
          "metadata": {"name": "web", "namespace": "prod"},
          "spec": {
            "replicas": 5,
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}]}},
            "template": {"spec": {"containers": [
              {"name": "web", "image": "registry.example/web:1.4.2"},
              {"name": "envoy", "image": "envoyproxy/envoy:v1.29"}
            ]}}
          },
          "status": {"currentStepIndex": 1, "updatedReplicas": 2}
        }}
        """

    static let blueGreenRollout = """
        {"rollout": {
          "metadata": {"name": "api"},
          "spec": {
            "replicas": 3,
            "strategy": {"blueGreen": {"activeService": "api-active", "previewService": "api-preview"}},
            "template": {"spec": {"containers": [{"name": "api", "image": "registry.example/api:2.0"}]}}
          },
          "status": {"updatedReplicas": 3}
        }}
        """

    static func template(_ name: String) throws -> ArgoCatalog.Template {
        let found = try ArgoCatalog.load().first { $0.name == name }
        return try #require(found, "template \(name) missing from the catalog")
    }

    static func render(_ template: ArgoCatalog.Template, field: String, data: String) throws -> String {
        let text = try #require(template.fields[field], "\(template.name) has no \(field)")
        let value = try GoValue(json: Data(data.utf8))
        return try GoTemplate(name: template.name, text: text).render(value)
    }

    @Test func catalogHasEveryTemplate() throws {
        let names = try ArgoCatalog.load().map(\.name)
        #expect(names.count == 9)
        #expect(names.contains("rollout-step-completed"))
        for template in try ArgoCatalog.load() {
            #expect(template.fields.count == 3, "\(template.name) should have message, subject and attachments")
        }
    }

    @Test func everyTemplateParsesAndRendersForBothStrategies() throws {
        for template in try ArgoCatalog.load() {
            for (field, text) in template.fields {
                let parsed = try GoTemplate(name: template.name, text: text)
                // Step numbers exist only for canaries: `len` of the missing steps fails, in Go too.
                let strategies =
                    template.name == "rollout-step-completed"
                    ? [Self.canaryRollout] : [Self.canaryRollout, Self.blueGreenRollout]
                for data in strategies {
                    let rendered = try parsed.render(try GoValue(json: Data(data.utf8)))
                    #expect(!rendered.contains("<no value>"), "\(template.name).\(field)")
                    if field == "slack.attachments" {
                        #expect(
                            (try? JSONSerialization.jsonObject(with: Data(rendered.utf8))) != nil,
                            "\(template.name) attachments are not JSON:\n\(rendered)")
                    }
                }
            }
        }
    }

    @Test func stepCompletedMessageForCanary() throws {
        let template = try Self.template("rollout-step-completed")
        let message = try Self.render(template, field: "message", data: Self.canaryRollout)
        #expect(message == "Rollout web step number 2/3 has been completed.")
        let subject = try Self.render(template, field: "email.subject", data: Self.canaryRollout)
        #expect(subject == "Rollout web step number 2/3 has been completed.")
    }

    @Test func stepCompletedAttachmentsAreJSONWithBothImages() throws {
        let template = try Self.template("rollout-step-completed")
        let attachments = try Self.render(template, field: "slack.attachments", data: Self.canaryRollout)
        let parsed = try JSONSerialization.jsonObject(with: Data(attachments.utf8))
        let first = try #require((parsed as? [[String: Any]])?.first)
        #expect(first["title"] as? String == "web")
        let fields = try #require(first["fields"] as? [[String: Any]])
        let values = fields.compactMap { $0["value"] as? String }
        #expect(values == ["Canary", "2/3", "registry.example/web:1.4.2", "envoyproxy/envoy:v1.29"])
        #expect(fields.compactMap { $0["title"] as? String } == ["Strategy", "Step completed", "web", "envoy"])
    }

    @Test func blueGreenStrategyShowsInCompletedAttachments() throws {
        let template = try Self.template("rollout-completed")
        let attachments = try Self.render(template, field: "slack.attachments", data: Self.blueGreenRollout)
        #expect(attachments.contains(#""value": "BlueGreen","#))
        let parsed = try JSONSerialization.jsonObject(with: Data(attachments.utf8)) as? [[String: Any]]
        let fields = parsed?.first?["fields"] as? [[String: Any]]
        #expect(fields?.first?["value"] as? String == "BlueGreen")
        #expect(fields?.last?["value"] as? String == "registry.example/api:2.0")
        let message = try Self.render(template, field: "message", data: Self.blueGreenRollout)
        #expect(message == "Rollout api has been completed.")
    }

    @Test func scalingMessageUsesReplicas() throws {
        let template = try Self.template("scaling-replicaset")
        let message = try Self.render(template, field: "message", data: Self.canaryRollout)
        #expect(message == "Scaling Rollout web's replicaset to 5.")
    }
}
