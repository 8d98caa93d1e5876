import Foundation
import Testing

@testable import AviaryExpression

@Suite struct ExprValueTests {
    @Test func jsonNumbersBecomeFloatsAsInGo() throws {
        let value = try ExprValue(json: Data(#"{"a": 1, "b": [true, null, "x", 2.5], "c": {"d": -3}}"#.utf8))
        #expect(value == ["a": .float(1), "b": [true, nil, "x", 2.5], "c": ["d": .float(-3)]])
    }

    @Test func jsonScalarsAreAccepted() throws {
        #expect(try ExprValue(json: Data("0.97".utf8)) == .float(0.97))
        #expect(try ExprValue(json: Data("false".utf8)) == .bool(false))
        #expect(try ExprValue(json: Data("null".utf8)) == .nil)
    }

    @Test func invalidJSONThrows() {
        #expect(throws: (any Error).self) { try ExprValue(json: Data("[0.97".utf8)) }
    }

    @Test func jsonObjectFromSwiftValues() {
        let value = ExprValue(
            jsonObject: ["result": [0.5, 1] as [Any], "ok": true, "none": NSNull()] as [String: Any])
        #expect(value == ["result": [.float(0.5), .float(1)], "ok": true, "none": nil])
    }

    static let goPrints: [(ExprValue, String)] = [
        (ExprValue.float(0.95), "0.95"), (.float(100), "100"), (.float(1e21), "1e+21"), (.float(1e-5), "1e-05"),
        (.float(1e6), "1e+06"), (.float(123456), "123456"), (.float(1_234_567), "1.234567e+06"),
        (.float(0.001), "0.001"),
        (.float(0.000123), "0.000123"), (.float(-1.5e-7), "-1.5e-07"), (.float(1e100), "1e+100"),
        (.float(1.7976931348623157e308), "1.7976931348623157e+308"), (.float(5e-324), "5e-324"),
        (.float(-2.5), "-2.5"), (.float(.infinity), "+Inf"), (.float(.nan), "NaN"), (.int(-4), "-4"),
        (.duration(5400), "1h30m0s"), (.duration(0.5), "500ms"), (.duration(90), "1m30s"), (.duration(0), "0s"),
        (["b": 1, "a": "x"], "map[a:x b:1]"), ([1, nil, true], "[1 <nil> true]"),
    ]

    @Test(arguments: ExprValueTests.goPrints)
    func printsLikeGo(_ value: ExprValue, _ text: String) {
        #expect(value.description == text)
    }
}

@Suite struct ExpressionBehaviourTests {
    @Test func parsesOnceEvaluatesManyEnvironments() throws {
        let condition = try Expression("result[0] >= 0.95")
        #expect(try condition.evaluateCondition(["result": [0.97]]))
        #expect(try !condition.evaluateCondition(["result": [0.5]]))
        #expect(throws: ExpressionError.self) { try condition.evaluateCondition(["result": []]) }
    }

    @Test func namesListsTheEnvironmentNamesUsed() throws {
        let expression = try Expression("let x = 1; all(result, {# > x}) && limit > 0 && result[0] < limit")
        #expect(expression.names == ["result", "limit"])
    }

    @Test func aConditionMustYieldBool() throws {
        let error = #expect(throws: ExpressionError.self) {
            try Expression("result[0]").evaluateCondition(["result": [0.5]])
        }
        #expect(error?.description == "1:1: expected bool, but got float64")
    }

    @Test func errorsCarryLineAndColumn() {
        let error = #expect(throws: ExpressionError.self) { try Expression("result[0] >= 0.95 &&\n  result[1] >") }
        #expect(error?.line == 2)
        #expect(error?.column == 14)
        #expect(error?.message == "expected an operand after '>', found end of expression")
    }

    @Test func nowReadsTheEnvironmentClock() throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let expression = try Expression("now() - result < duration('10m')")
        #expect(
            try expression.evaluateCondition(["$now": .time(start), "result": .time(start.addingTimeInterval(-60))]))
        #expect(
            try !expression.evaluateCondition(["$now": .time(start), "result": .time(start.addingTimeInterval(-3600))]))
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let nested = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(throws: ExpressionError.self) { try Expression(nested) }
        let chain = Array(repeating: "1", count: 5000).joined(separator: " + ")
        #expect(throws: ExpressionError.self) { try Expression(chain) }
        let members = "m" + String(repeating: ".a", count: 5000)
        #expect(throws: ExpressionError.self) { try Expression(members) }
    }

    @Test func realisticNestingIsAccepted() throws {
        let chain = Array(repeating: "result[0] > 0.5", count: 40).joined(separator: " && ")
        #expect(try Expression(chain).evaluateCondition(["result": [0.97]]))
        let nested = String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60) + " == 1"
        #expect(try Expression(nested).evaluateCondition([:]))
    }

    @Test func hugeWorkIsBoundedByBudgets() throws {
        let ranges = try Expression("all(1..999999, all(1..999999, # > 0))")
        let error = #expect(throws: ExpressionError.self) { try ranges.evaluate([:]) }
        #expect(error?.message.contains("memory budget exceeded") == true)
        let steps = try Expression("all(result, all(result, all(result, true)))")
        let big = ExprValue.array(Array(repeating: .float(1), count: 400))
        let stepError = #expect(throws: ExpressionError.self) { try steps.evaluate(["result": big]) }
        #expect(stepError?.message.contains("predicate steps") == true)
    }

    /// Regression: scripts/fuzz-expr found that NSRegularExpression leaks every pattern that fails
    /// to compile; invalid patterns must still be reported, at parse and at evaluation.
    @Test func invalidRegexIsReportedWithoutFoundation() throws {
        #expect(throws: ExpressionError.self) { try Expression("'non' matches 'a[`'") }
        let dynamic = try Expression("s matches result")
        #expect(throws: ExpressionError.self) { try dynamic.evaluate(["s": "a", "result": "(("]) }
    }

    @Test func argoIsNilAndDefaultAnswerForTheWholeResult() throws {
        let fallback = try Expression("default(result, 0.99) >= 0.95")
        #expect(try fallback.evaluateCondition(["result": nil]))
        #expect(try !Expression("default(result, 0.5) >= 0.95").evaluateCondition(["result": nil]))
        #expect(try Expression("isNil(result)").evaluateCondition(["result": nil]))
        #expect(try Expression("isNil(x)").evaluateCondition(["x": nil]))
        #expect(try Expression("default(x, 2) == 2").evaluateCondition(["x": nil]))
    }

    @Test func evaluatesConcurrently() async throws {
        let expression = try Expression("len(result) > 0 && all(result, {# < 1000})")
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask { try expression.evaluateCondition(["result": [.float(Double(index))]]) }
            }
            for try await passed in group { #expect(passed) }
        }
    }
}

@Suite struct TemplateTests {
    @Test(arguments: [
        ("result[0] >= {{args.min}}", "result[0] >= 0.95"),
        ("{{ args.min }} < {{args.max}}", "0.95 < 10"),
        ("no tags", "no tags"),
        ("{{args.min}}{{args.min}}", "0.950.95"),
        ("single { brace }", "single { brace }"),
        ("{{args.empty}}x", "x"),
    ])
    func substitutesArguments(_ text: String, _ expected: String) throws {
        #expect(try Template.substitute(text, args: ["min": "0.95", "max": "10", "empty": ""]) == expected)
    }

    @Test func anUnresolvedTagIsAnErrorNamingIt() {
        let error = #expect(throws: Template.UnresolvedTagError.self) {
            try Template.substitute("rate{service=\"{{args.service}}\"}", args: ["min": "1"])
        }
        #expect(error?.tag == "{{args.service}}")
        #expect(error?.description == "unresolved template tag {{args.service}}: pass it as an argument (given: min)")
    }

    @Test func anUnclosedTagIsAnError() {
        #expect(throws: Template.UnresolvedTagError.self) { try Template.substitute("x {{args.a", args: ["a": "1"]) }
        #expect(throws: Template.UnresolvedTagError.self) { try Template.substitute("{{secrets.a}}", args: ["a": "1"]) }
    }
}

@Suite struct ConditionCheckTests {
    @Test func argumentsAreSubstitutedBeforeParsing() throws {
        #expect(
            try ConditionCheck.evaluate(
                condition: "result[0] >= {{args.min}}", resultJSON: "[0.97]", args: ["min": "0.95"]))
        #expect(
            try !ConditionCheck.evaluate(
                condition: "result.status == 'ok'", resultJSON: #"{"status":"bad"}"#, args: [:]))
    }

    @Test(arguments: [
        ("result[0] >=", "[1]", "--condition: 1:13: expected an operand after '>=', found end of expression"),
        ("result[0]", "[1]", "--condition: 1:1: expected bool, but got float64"),
        ("result[0] > {{args.x}}", "[1]", "--condition: unresolved template tag {{args.x}}"),
        ("true", "[1", "--result: not valid JSON ([1)"),
        ("result[5] > 1", "[1]", "--condition: 1:7: index out of range: 5 (array length is 1)"),
        // expr-lang refuses operand types that cannot meet when it compiles, whatever the result.
        (#"asFloat(result) == "1.1""#, "1.1", "--condition: 1:17: invalid operation: == (mismatched types float64 and string)"),
        ("len(result) != true", "[1]", "--condition: 1:13: invalid operation: != (mismatched types int and bool)"),
        (#"asInt(result) < "2""#, "1", "--condition: 1:15: invalid operation: < (mismatched types int and string)"),
        (#"1 + "a" == 2"#, "1", "--condition: 1:3: invalid operation: + (mismatched types int and string)"),
        (#"upper(result) > 1"#, "\"a\"", "--condition: 1:15: invalid operation: > (mismatched types string and int)"),
    ])
    func failuresNameTheInput(_ condition: String, _ result: String, _ message: String) {
        let error = #expect(throws: ConditionCheck.Failure.self) {
            try ConditionCheck.evaluate(condition: condition, resultJSON: result, args: [:])
        }
        #expect(error?.description.hasPrefix(message) == true, "\(String(describing: error))")
    }

    /// Types that may meet stay allowed: numbers of both kinds, and anything the result decides.
    @Test(arguments: [
        ("asFloat(result) == 1", "1", true), ("asInt(result) < 1.5", "1", true), (#"result == "1.1""#, #""1.1""#, true),
        (#"string(result) == "1""#, "1", true), ("len(result) == 0 ? false : result[0] > 0", "[1]", true),
        (#"upper("a") + "b" == "Ab""#, "1", true),
    ])
    func typesThatMayMeetAreAllowed(_ condition: String, _ result: String, _ expected: Bool) throws {
        #expect(try ConditionCheck.evaluate(condition: condition, resultJSON: result, args: [:]) == expected)
    }

    @Test func argumentsParse() throws {
        #expect(try ConditionCheck.parseArguments(["a=1", "b=x=y", "c="]) == ["a": "1", "b": "x=y", "c": ""])
        #expect(throws: ConditionCheck.Failure.self) { try ConditionCheck.parseArguments(["novalue"]) }
        #expect(throws: ConditionCheck.Failure.self) { try ConditionCheck.parseArguments(["=1"]) }
    }
}
