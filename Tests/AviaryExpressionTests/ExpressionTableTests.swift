import Foundation
import Testing

@testable import AviaryExpression

/// One condition and what expr-lang (v1.16+, as Argo Rollouts embeds it) answers for it over
/// `ExpressionTableTests.environment`.
struct ExpressionCase: CustomTestStringConvertible, Sendable {
    enum Expected: Sendable {
        case value(ExprValue)
        /// An error whose description contains this text (for syntax errors, `line:column: ...`).
        case error(String)
    }

    let source: String
    let expected: Expected

    var testDescription: String { source }
}

private func value(_ source: String, _ expected: ExprValue) -> ExpressionCase {
    ExpressionCase(source: source, expected: .value(expected))
}

private func failure(_ source: String, _ message: String) -> ExpressionCase {
    ExpressionCase(source: source, expected: .error(message))
}

@Suite struct ExpressionTableTests {
    /// The environment every case runs against: numbers from JSON are floats, as Argo's web
    /// provider and Prometheus results are.
    static let environment: [String: ExprValue] = {
        let json = """
            {
              "result": [0.97, 0.5, 12],
              "scalar": 0.95,
              "empty": [],
              "m": {"a": 1, "b": {"c": "x"}, "n": null},
              "s": "hello world",
              "nilv": null,
              "items": [{"value": "9950"}, {"value": "9990"}],
              "flags": [true, false, true]
            }
            """
        guard case .map(var values) = try! ExprValue(json: Data(json.utf8)) else { fatalError("bad fixture") }
        values["i"] = .int(3)
        return values
    }()

    static let literals: [ExpressionCase] = [
        value("1", 1), value("1_000", 1000), value("0x1F", 31), value("0o17", 15), value("0b101", 5),
        value("1e-3", 0.001), value("1.5", 1.5), value(".5", 0.5), value("2e3", 2000.0),
        value("'a\\nb'", "a\nb"), value("\"x\\u00e9\"", "xé"), value("`raw\\n`", "raw\\n"),
        value("\"it's\"", "it's"), value("'say \"hi\"'", "say \"hi\""),
        value("true", true), value("false", false), value("nil", nil),
        value("[1, 2]", [1, 2]), value("[]", []), value("[1, 'a', nil]", [1, "a", nil]),
        value("{a: 1, 'b': 2}", ["a": 1, "b": 2]), value("{}", [:]), value("{1: 'one'}", ["1": "one"]),
        value("[1, 2,]", [1, 2]), value("1 /* comment */ + 2 // trailing", 3),
    ]

    static let arithmetic: [ExpressionCase] = [
        value("1 + 2", 3), value("1 + 2.5", 3.5), value("7 / 2", 3.5), value("6 / 3", 2.0), value("7 % 3", 1),
        value("-7 % 3", -1), value("2 ** 10", 1024.0), value("2 ^ 3", 8.0), value("2 ** 3 ** 2", 512.0),
        value("1 + 2 * 3", 7), value("(1 + 2) * 3", 9), value("10 - 2 - 3", 5), value("-2 ** 2", -4.0),
        value("1 / 0", .float(.infinity)), value("-i", -3), value("+i", 3), value("- -1", 1),
        value("'a' + 'b'", "ab"), failure("[1] + [2]", "invalid operation: []interface {} + []interface {}"),
        value("9223372036854775807 + 1", .int(Int.min)),
        value("result[0] * 100", 97.0), value("scalar - 0.95", 0.0), value("i * 2.5", 7.5), value("i / 2", 1.5),
        failure("1 % 0", "integer divide by zero"), failure("5.5 % 2", "invalid operation: float64 % int"),
        failure("'a' + 1", "invalid operation: + (mismatched types string and int)"),
        failure("'a' * 2", "invalid operation: * (mismatched types string and int)"),
        failure("-'a'", "invalid operation: - string"), failure("nilv + 1", "invalid operation: <nil> + int"),
        failure("result + 1", "invalid operation: []interface {} + int"),
    ]

    static let comparison: [ExpressionCase] = [
        value("1 < 2", true), value("1 < 1.5", true), value("2.0 == 2", true), failure("1 == '1'", "invalid operation: == (mismatched types int and string)"),
        value("nil == nil", true), value("nil == 0", false), value("nilv == nil", true), value("'a' < 'b'", true),
        value("'b' >= 'a'", true), value("1 < 2 < 3", true), value("3 > 2 > 2", false), value("[1, 2] == [1, 2]", true),
        value("[1] == [1.0]", true), value("{a: 1} == {a: 1.0}", false), value("[1, 2] == [1]", false),
        value("{a: 1} == {a: 1}", true), value("result[0] >= 0.95", true),
        value("result[0] != 0.97", false), failure("true == 1", "invalid operation: == (mismatched types bool and int)"), value("2 <= 2.0", true), value("i == 3.0", true),
        value("scalar > 0.9 == true", true), value("0.95 > 0.9 == true", true), value("1 < 2 < 3", true),
        value("3 > 2 > 1", true), value("1 < 3 < 2", false), value("s == 'hello world'", true), value("m.b == {c: 'x'}", true),
        failure("'a' < 1", "invalid operation: < (mismatched types string and int)"), failure("nilv > 1", "invalid operation: <nil> > int"),
        failure("result > 1", "invalid operation: []interface {} > int"),
        failure("true < false", "invalid operation: < (mismatched types bool and bool)"),
    ]

    static let logic: [ExpressionCase] = [
        value("true && false", false), value("true and true", true), value("false || true", true),
        value("false or false", false), value("not true", false), value("!false", true), value("false && 1", false),
        value("true || 1", true), value("not (1 > 2)", true), value("!true == false", true),
        value("1 < 2 && 2 < 3 || false", true), value("false and false or true", true),
        value("true or false and false", true), value("not false and false", false),
        failure("true && 1", "right operand of && must be bool, got int"),
        failure("1 && true", "left operand of && must be bool, got int"),
        failure("scalar || true", "left operand of || must be bool, got float64"),
        failure("not 1", "invalid operation: not int"), failure("!nilv", "invalid operation: not <nil>"),
    ]

    static let membership: [ExpressionCase] = [
        value("2 in [1, 2]", true), value("2.0 in [1, 2]", true), value("3 not in [1, 2]", true),
        value("'a' in {a: 1}", true), value("'z' in m", false), value("'n' in m", true), value("1 in nil", false),
        value("0.5 in result", true), value("'x' in ['x', 'y']", true), value("nil in [nil]", true),
        failure("'a' in 'abc'", "operator \"in\" not defined on string"),
        failure("1 in 2", "operator \"in\" not defined on int"),
    ]

    static let strings: [ExpressionCase] = [
        value("'hello' contains 'ell'", true), value("s startsWith 'hello'", true), value("s endsWith 'world'", true),
        value("s not contains 'x'", true), value("s not startsWith 'world'", true), value("s not endsWith 'x'", true),
        value("'abc' matches '^a.c$'", true), value("'abc' matches 'b'", true), value("'ABC' matches '(?i)abc'", true),
        value("'abc' not matches '^b'", true), value("'' contains ''", true), value("s[0:5] == 'hello'", true),
        value("s[0]", 104),
        failure("1 contains 'a'", "invalid operation: int contains string"),
        failure("s startsWith 1", "invalid operation: string startsWith int"),
        failure("'a' matches '('", "1:5: invalid regular expression '('"),
    ]

    static let conditionalAndCoalesce: [ExpressionCase] = [
        value("1 > 2 ? 'a' : 'b'", "b"), value("true ? 1 : 2", 1), value("false ? 1 : true ? 2 : 3", 2),
        value("nilv ?? 5", 5), value("scalar ?? 5", 0.95), value("m.missing ?? 'd'", "d"), value("m.x?.y ?? 1", 1),
        value("nilv ?? nilv ?? 3", 3), value("m.n ?? 'was nil'", "was nil"),
        failure("1 ? 2 : 3", "non-bool expression (type int) used as condition"),
        failure("1 ? 2", "expected ':' in the conditional"),
        failure("nilv ?? 1 + 2", "operator '+' and '??' cannot be mixed"),
    ]

    static let ranges: [ExpressionCase] = [
        value("1..3", [1, 2, 3]), value("3..1", []), value("2 in 1..3", true), value("len(1..10)", 10),
        value("-1..1", [-1, 0, 1]), value("1..1", [1]),
        failure("1.5..3", "invalid operation: float64 .. int"),
        failure("0..10000000", "memory budget exceeded"),
    ]

    static let members: [ExpressionCase] = [
        value("result[0]", 0.97), value("result[-1]", 12.0), value("result[1.0]", 0.5), value("m.a", 1.0),
        value("m['a']", 1.0), value("m.b.c", "x"), value("m['b']['c']", "x"), value("m.zzz", nil), value("m.n", nil),
        value("m.zzz?.y", nil), value("nilv?.x", nil), value("nilv?.x.y", nil), value("nilv?.[0]", nil),
        value("m?.b?.c", "x"), value("result[1:3]", [0.5, 12.0]), value("result[:1]", [0.97]),
        value("result[1:]", [0.5, 12.0]), value("result[-2:]", [0.5, 12.0]), value("result[:]", [0.97, 0.5, 12.0]),
        value("result[2:1]", []), value("result[0:100]", [0.97, 0.5, 12.0]), value("'hello'[1:3]", "el"),
        value("items[0].value", "9950"), value("items[-1]['value']", "9990"), value("[1, 2, 3][1]", 2),
        value("{a: {b: 2}}.a.b", 2),
        failure("result[3]", "index out of range: 3 (array length is 3)"),
        failure("result[-4]", "index out of range: -1 (array length is 3)"),
        failure("m.zzz.y", "cannot fetch y from <nil>"), failure("nilv.x", "1:6: cannot fetch x from <nil>"),
        failure("nilv[0]", "cannot fetch 0 from <nil>"), failure("scalar.x", "cannot fetch x from float64"),
        failure("result.x", "invalid operation: int(string)"), failure("empty[0]", "index out of range: 0"),
        failure("result['a']", "invalid operation: int(string)"), failure("nilv[1:2]", "cannot slice <nil>"),
    ]

    static let closures: [ExpressionCase] = [
        value("all(result, {# < 1000})", true), value("all(result, # > 0.9)", false),
        value("any(result, # > 10)", true),
        value("none(result, # > 100)", true), value("one(result, # > 10)", true), value("one(result, # > 0.1)", false),
        value("filter(result, # > 0.9)", [0.97, 12.0]), value("map(result, # * 2)", [1.94, 1.0, 24.0]),
        value("count(result, # > 0.9)", 2), value("all(items, {asFloat(.value) >= 9900})", true),
        value("map(items, .value)", ["9950", "9990"]), value("filter(1..5, # % 2 == 0)", [2, 4]),
        value("map(1..3, #index)", [0, 1, 2]), value("reduce(1..4, #acc + #)", 10),
        value("reduce(1..4, #acc + #, 10)", 20), value("find(result, # > 1)", 12.0),
        value("findIndex(result, # > 1)", 2), value("findLast(1..5, # < 3)", 2), value("findLastIndex(1..5, # < 3)", 1),
        value("find(result, # > 100)", nil), value("findIndex(result, # > 100)", -1), value("all([], # > 1)", true),
        value("any([], # > 1)", false), value("count(flags)", 2), value("sum([1, 2], # * 10)", 30),
        value("len(result) > 0 && all(result, {# < 1000})", true), value("all(result, {let x = #; x >= 0})", true),
        value("map(filter(result, # < 1), # * 100)", [97.0, 50.0]), value("any(items, .value == '9990')", true),
        value("all(map(1..3, # * 2), # % 2 == 0)", true), value("count(1..10, # > 3 && # < 7)", 3),
        failure("all(result, # + 1)", "the predicate of all must return bool, got float64"),
        failure("all(nilv, # > 1)", "cannot iterate over <nil> in all"),
        failure("# > 1", "1:1: '#' is only allowed inside a predicate"),
        failure("reduce([], #acc + #)", "reduce of an empty array with no initial value"),
        failure("all(result, {})", "expected an expression inside the predicate braces"),
    ]

    static let builtins: [ExpressionCase] = [
        value("len(result)", 3), value("len('héllo')", 5), value("len(m)", 3), value("len([])", 0),
        value("abs(-3)", 3), value("abs(-2.5)", 2.5), value("ceil(1.2)", 2.0), value("floor(1.8)", 1.0),
        value("round(2.5)", 3.0), value("round(-2.5)", -3.0), value("ceil(2)", 2.0), value("int(2.9)", 2),
        value("int(-2.9)", -2), value("int('42')", 42), value("float(2)", 2.0), value("float('1.5')", 1.5),
        value("string(1.5)", "1.5"), value("string(2)", "2"), value("string(2.0)", "2"), value("string(true)", "true"),
        value("string(nil)", "<nil>"), value("string([1, 'a'])", "[1 a]"), value("string(1e21)", "1e+21"),
        value("string(1000000.0)", "1e+06"),
        value("trim('  a  ')", "a"), value("trim('xxaxx', 'x')", "a"), value("upper('a')", "A"),
        value("lower('A')", "a"), value("split('a,b,c', ',')", ["a", "b", "c"]),
        value("split('a,b,c', ',', 2)", ["a", "b,c"]), value("first(result)", 0.97), value("last(result)", 12.0),
        value("first([])", nil), value("last(nilv)", nil), value("keys({b: 1, a: 2})", ["a", "b"]),
        value("values({b: 1, a: 2})", [2, 1]), value("sum([1, 2, 3])", 6), value("sum([1, 2.5])", 3.5),
        value("sum([])", 0), value("sum(result)", 13.47), value("min(result)", 0.5), value("max(result)", 12.0),
        value("max(1, 2.5, 2)", 2.5), value("min([3, 1, 2])", 1), value("max([])", nil), value("max(1, [5, 2])", 5),
        value("mean([1, 2, 3, 4])", 2.5), value("median([3, 1, 2])", 2.0), value("median([1, 2, 3, 4])", 2.5),
        value("mean([])", 0.0), value("type(1)", "int"), value("type(1.0)", "float"), value("type(nilv)", "nil"),
        value("type(result)", "array"), value("join(['a', 'b'], '-')", "a-b"), value("indexOf('abc', 'c')", 2),
        value("hasPrefix('abc', 'ab')", true), value("reverse([1, 2])", [2, 1]),
        value("duration('1h30m') == duration('90m')", true), value("duration('1h') > duration('30m')", true),
        value("string(duration('90s'))", "1m30s"), value("duration('500ms') < duration('1s')", true),
        value("now() > now() - duration('1m')", true), value("now() - duration('1h') < now()", true),
        value("let x = 2; x * 3", 6), value("let a = 1; let b = a + 1; a + b", 3),
        failure("len(1)", "invalid argument for len (type int)"), failure("int('x')", "invalid operation: int(x)"),
        failure("float('x')", "invalid operation: float(x)"),
        failure("max('a', 'b')", "invalid argument for max (type string)"),
        failure("duration('5x')", "time: invalid duration \"5x\""), failure("upper(1)", "expected string, got int"),
        failure("abs('a')", "invalid argument for abs (type string)"),
        failure("keys(result)", "cannot get keys from []interface {}"),
    ]

    static let argo: [ExpressionCase] = [
        value("asInt('42') == 42", true), value("asFloat('0.5') == 0.5", true), value("asInt(3.7)", 3),
        value("asFloat(2)", 2.0), value("isNaN(result[0])", false), value("isNaN(asFloat('NaN'))", true),
        value("isInf(1 / 0)", true), value("isInf(scalar)", false),
        // Argo's isNil and default look at the whole result whatever their first argument is.
        value("isNil(nilv)", false), value("isNil(result)", false), value("default(nilv, 1)", [0.97, 0.5, 12.0]),
        value("default(result, 0)[0]", 0.97), value("result[0] >= 0.95 && !isNil(m.n)", true),
        failure("default(m.zz.y, 2)", "1:14: cannot fetch y from <nil>"),
        failure("asInt('x')", "strconv.ParseInt: parsing \"x\": invalid syntax"),
        failure("asFloat('x')", "strconv.ParseFloat: parsing \"x\": invalid syntax"),
        failure("isNaN('a')", "invalid argument for isNaN (type string)"),
    ]

    static let syntax: [ExpressionCase] = [
        failure("result[0] >=", "1:13: expected an operand after '>=', found end of expression"),
        failure("result[0] >= )", "1:14: expected an operand after '>=', found ')'"),
        failure("(1 + 2", "1:7: expected ')' to close the '(' at column 1"),
        failure("1 +", "1:4: expected an operand after '+'"),
        failure("[1, 2", "1:6: expected ',' or ']' in the array at column 1"),
        failure("1 2", "1:3: unexpected number 2: expected an operator or the end"),
        failure("1 @ 2", "1:3: unrecognized character '@'"), failure("'abc", "1:1: literal not terminated"),
        failure("foo(1)", "1:1: unknown function 'foo'"),
        failure("len()", "1:1: invalid number of arguments for len (expected 1, got 0)"),
        failure("all(result)", "invalid number of arguments for all (expected 2, got 1)"),
        failure("", "1:1: expected an expression, found an empty condition"),
        failure("result[", "1:8: unexpected end of condition: expected an operand"),
        failure("result.", "1:8: expected a field name after '.'"),
        failure("{a 1}", "1:4: expected ':' after the map key"),
        failure("1 ==\n  == 2", "2:3: expected an operand after '=='"),
        failure("1..", "1:4: expected an operand after '..'"),
        failure("0x", "invalid integer literal '0x'"), failure("99999999999999999999", "invalid integer literal"),
        failure("1abc", "1:1: bad number syntax: '1a'"), failure("'\\q'", "invalid escape sequence"),
        failure("/* open", "1:1: unclosed comment"), failure("result.len()", "unknown method 'len'"),
        failure("unknownName > 1", "1:1: unknown name unknownName"),
        failure("true || typo > 1", "1:9: unknown name typo: the condition can use empty, flags, i, items, m"),
        failure("a.b.c == 'x' || result[0] >", "1:28: expected an operand after '>'"),
    ]

    static var all: [ExpressionCase] {
        literals + arithmetic + comparison + logic + membership + strings + conditionalAndCoalesce + ranges + members
            + closures + builtins + argo + syntax
    }

    @Test func tableHasAtLeast150Cases() {
        #expect(Self.all.count >= 150)
    }

    @Test(arguments: ExpressionTableTests.all)
    func evaluatesLikeExprLang(_ testCase: ExpressionCase) {
        let outcome: Result<ExprValue, ExpressionError>
        do {
            let expression = try Expression(testCase.source)
            outcome = .success(try expression.evaluate(Self.environment))
        } catch {
            outcome = .failure(error)
        }
        switch (testCase.expected, outcome) {
        case (.value(let expected), .success(let actual)):
            #expect(approximatelyEqual(actual, expected), "\(testCase.source) gave \(actual)")
        case (.error(let message), .failure(let error)):
            #expect(error.description.contains(message), "\(testCase.source) failed with \(error)")
        case (.value(let expected), .failure(let error)):
            Issue.record("\(testCase.source) should give \(expected) but failed: \(error)")
        case (.error(let message), .success(let actual)):
            Issue.record("\(testCase.source) should fail with \(message) but gave \(actual)")
        }
    }
}

/// Equality that tolerates the last bits of float arithmetic (`0.97 * 100`), but not a change of
/// type: an int where expr-lang gives a float is a failure.
func approximatelyEqual(_ actual: ExprValue, _ expected: ExprValue) -> Bool {
    switch (actual, expected) {
    case (.float(let a), .float(let b)):
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        return Swift.abs(a - b) <= 1e-9 * Swift.max(1, Swift.abs(b))
    case (.array(let a), .array(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { approximatelyEqual($0, $1) }
    case (.map(let a), .map(let b)):
        return a.keys.sorted() == b.keys.sorted() && a.allSatisfy { approximatelyEqual($0.value, b[$0.key]!) }
    default:
        return actual == expected
    }
}
