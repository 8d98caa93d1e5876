import Foundation
import Testing

@testable import AviaryJSON

@Suite struct JSONTextTests {
    static let parsed: [(text: String, value: JSONValue)] = [
        ("null", .null),
        (" true ", .bool(true)),
        ("false", .bool(false)),
        ("0", .integer(0)),
        ("-0", .integer(0)),
        ("42", .integer(42)),
        ("-9223372036854775808", .integer(.min)),
        ("9223372036854775807", .integer(.max)),
        // Past 64 bits, or with a fraction or an exponent: a double.
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5", .double(1.5)),
        ("1.0", .double(1)),
        ("-2e3", .double(-2000)),
        ("2E-2", .double(0.02)),
        (#""""#, .string("")),
        (#""plain ünïcödé 🚀""#, .string("plain ünïcödé 🚀")),
        (#""a\"b\\c\/d\b\f\n\r\t""#, .string("a\"b\\c/d\u{8}\u{c}\n\r\t")),
        (#""\u00e9\u20AC""#, .string("é€")),
        (#""\ud83d\ude80 go""#, .string("🚀 go")),
        ("[]", .array([])),
        ("[1, [2, []], {}]", .array([.integer(1), .array([.integer(2), .array([])]), .object([:])])),
        (#"{}"#, .object([:])),
        (
            #"{"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 3, "paused": false}}"#,
            [
                "metadata": ["name": "web", "labels": ["app": "web"]],
                "spec": ["replicas": .integer(3), "paused": .bool(false)],
            ]
        ),
        // A member named twice: the last one counts, as in Go's encoding/json.
        (#"{"a": 1, "a": 2}"#, ["a": .integer(2)]),
        ("\n\t{\r\n\"a\" :\n[ null ] }\n", ["a": .array([.null])]),
    ]

    @Test(arguments: Self.parsed.indices)
    func parsesEveryKindOfValue(index: Int) throws {
        let (text, value) = Self.parsed[index]
        #expect(try JSONValue(parsing: Data(text.utf8)) == value, "\(text)")
    }

    static let malformed: [(text: String, reason: String)] = [
        ("", "invalid JSON at byte 0: the text ends where a value should be"),
        ("nul", "invalid JSON at byte 0: unexpected character 'n'"),
        ("tru e", "invalid JSON at byte 0: unexpected character 't'"),
        ("{\"a\" 1}", "invalid JSON at byte 5: expected ':' after the member name"),
        ("{a: 1}", "invalid JSON at byte 1: expected a member name in quotes"),
        ("{\"a\": 1,}", "invalid JSON at byte 8: expected a member name in quotes"),
        ("[1 2]", "invalid JSON at byte 3: expected ',' or ']' in an array"),
        ("[1,", "invalid JSON at byte 3: the text ends where a value should be"),
        ("{\"a\": 1", "invalid JSON at byte 7: the text ends inside an object"),
        ("\"open", "invalid JSON at byte 5: the text ends inside a string"),
        ("\"tab\tinside\"", "invalid JSON at byte 4: a control character inside a string must be escaped"),
        (#""\x""#, "invalid JSON at byte 3: unknown escape \\'x'"),
        (#""\u12G4""#, "invalid JSON at byte 5: a \\u escape needs four hex digits"),
        (#""\ud83d""#, "invalid JSON at byte 7: a high surrogate \\u escape must be followed by a low one"),
        (#""\ude80""#, "invalid JSON at byte 7: a lone low surrogate \\u escape"),
        ("01", "invalid JSON at byte 1: unexpected text after the value"),
        ("-", "invalid JSON at byte 1: a number needs a digit"),
        ("1.", "invalid JSON at byte 2: a fraction needs a digit after '.'"),
        ("1e+", "invalid JSON at byte 3: an exponent needs a digit"),
        ("1e999", "invalid JSON at byte 0: the number 1e999 is out of range"),
        ("{} {}", "invalid JSON at byte 3: unexpected text after the value"),
        ("<html>", "invalid JSON at byte 0: unexpected character '<'"),
    ]

    @Test(arguments: Self.malformed.indices)
    func refusesWhatIsNotJSONSayingWhereAndWhy(index: Int) {
        let (text, reason) = Self.malformed[index]
        #expect(throws: (any Error).self) { try JSONValue(parsing: Data(text.utf8)) }
        do {
            _ = try JSONValue(parsing: Data(text.utf8))
        } catch {
            #expect("\(error)" == reason, "\(text)")
        }
    }

    @Test func nestingPastTheLimitIsRefusedInsteadOfOverflowingTheStack() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue(parsing: Data(deep.utf8)) }
        let allowed = String(repeating: "[", count: JSONText.maximumDepth) + String(repeating: "]", count: JSONText.maximumDepth)
        #expect((try? JSONValue(parsing: Data(allowed.utf8))) != nil)
    }

    /// The parser and `JSONValue`'s `Decodable` conformance (what `JSONDecoder` gives) agree on a
    /// Rollout as the API server sends it, and on what `serialized()` writes back.
    @Test func agreesWithTheDecodableConformanceOnAnObjectAndItsEncoding() throws {
        let text = #"""
            {"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web","namespace":"shop",
            "uid":"8f1c2d3e-4a5b","resourceVersion":"100231","generation":2,"annotations":{"note":"a \"quoted\" \\ line\n"},
            "labels":{"app":"web"}},"spec":{"replicas":4,"selector":{"matchLabels":{"app":"web"}},
            "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"web:v2",
            "ports":[{"containerPort":8080}],"resources":{"limits":{"cpu":0.5}}}]}},
            "strategy":{"canary":{"steps":[{"setWeight":10},{"pause":{}},{"setWeight":33},{"pause":{"duration":"1h"}}]}}},
            "status":{"phase":"Paused","currentStepIndex":1,"canary":{"weights":{"canary":{"weight":10}}},
            "conditions":[{"type":"Paused","status":"True","lastTransitionTime":"2026-12-04T13:12:00Z"}],
            "pauseConditions":null,"controllerPause":true}}
            """#
        let parsed = try JSONValue(parsing: Data(text.utf8))
        #expect(parsed == (try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))))
        #expect(try JSONValue(parsing: parsed.serialized()) == parsed)
        #expect(parsed["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.count == 1)
    }
}
