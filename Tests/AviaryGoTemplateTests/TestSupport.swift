import Foundation
import Testing

@testable import AviaryGoTemplate

/// Renders `template` against JSON `data`, turning any error into its description.
func render(_ template: String, _ data: String = "{}", name: String = "test") -> String {
    do {
        let value = try GoValue(json: Data(data.utf8))
        return try GoTemplate(name: name, text: template).render(value)
    } catch let error as GoTemplateError {
        return "ERROR: \(error.description)"
    } catch {
        return "ERROR: \(error)"
    }
}

/// Parses and renders, returning the error (or nil when it succeeds).
func failure(_ template: String, _ data: String = "{}", name: String = "test") -> GoTemplateError? {
    do {
        let value = try GoValue(json: Data(data.utf8))
        _ = try GoTemplate(name: name, text: template).render(value)
        return nil
    } catch let error as GoTemplateError {
        return error
    } catch {
        return GoTemplateError(template: name, line: 0, column: 0, message: "not a template error: \(error)")
    }
}

/// One row of a rendering table.
struct RenderCase: CustomTestStringConvertible, Sendable {
    var template: String
    var data: String
    var expected: String

    init(_ template: String, _ data: String = "{}", _ expected: String) {
        self.template = template
        self.data = data
        self.expected = expected
    }

    var testDescription: String { template }
}

/// One row of an error table: the message must contain `message`, located at line and column.
struct ErrorCase: CustomTestStringConvertible, Sendable {
    var template: String
    var data: String
    var message: String
    var line: Int
    var column: Int

    init(_ template: String, _ data: String = "{}", _ message: String, line: Int, column: Int) {
        self.template = template
        self.data = data
        self.message = message
        self.line = line
        self.column = column
    }

    var testDescription: String { template.count > 60 ? String(template.prefix(60)) + "…" : template }
}
