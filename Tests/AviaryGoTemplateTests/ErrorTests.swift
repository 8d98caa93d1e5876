import Testing

@testable import AviaryGoTemplate

@Suite("Errors name the template, the place and the problem")
struct ErrorTests {
    static let parseErrors: [ErrorCase] = [
        ErrorCase("{{end}}", "{}", "unexpected {{end}}", line: 1, column: 3),
        ErrorCase("{{else}}", "{}", "unexpected {{else}}", line: 1, column: 3),
        ErrorCase("{{if .a}}x", "{}", "missing {{end}} for {{if}} opened at line 1, column 3", line: 1, column: 11),
        ErrorCase(
            "a\n  {{if .a}}\nb", "{}", "missing {{end}} for {{if}} opened at line 2, column 5", line: 3, column: 2),
        ErrorCase("{{range .l}}{{else}}{{else}}{{end}}", "{}", "unexpected second {{else}}", line: 1, column: 23),
        ErrorCase("{{with .a}}", "{}", "missing {{end}} for {{with}}", line: 1, column: 12),
        ErrorCase("ok\n{{.a", "{}", "unclosed action", line: 2, column: 1),
        ErrorCase("{{nope 1}}", "{}", "function \"nope\" not defined", line: 1, column: 3),
        ErrorCase("{{.a | nope}}", "{}", "function \"nope\" not defined", line: 1, column: 8),
        ErrorCase("{{$x}}", "{}", "undefined variable \"$x\"", line: 1, column: 3),
        ErrorCase("{{if true}}{{$x := 1}}{{end}}{{$x}}", "{}", "undefined variable \"$x\"", line: 1, column: 32),
        ErrorCase("{{$y = 1}}", "{}", "undefined variable \"$y\"", line: 1, column: 3),
        ErrorCase("{{break}}", "{}", "{{break}} outside {{range}}", line: 1, column: 3),
        ErrorCase(
            "{{range .l}}{{else}}{{continue}}{{end}}", "{}", "{{continue}} outside {{range}}", line: 1, column: 23),
        ErrorCase("{{/* unclosed", "{}", "unclosed comment", line: 1, column: 1),
        ErrorCase("{{/* c */ .a}}", "{}", "comment ends before closing delimiter", line: 1, column: 1),
        ErrorCase("{{\"abc}}", "{}", "unterminated quoted string", line: 1, column: 3),
        ErrorCase("{{`abc}}", "{}", "unterminated raw quoted string", line: 1, column: 3),
        ErrorCase("{{1 | 2}}", "{}", "non executable command in pipeline stage 2", line: 1, column: 7),
        ErrorCase("{{with $x, $y := .}}{{end}}", "{}", "too many declarations in with", line: 1, column: 10),
        ErrorCase("{{(1}}", "{}", "unclosed left paren", line: 1, column: 5),
        ErrorCase("{{1)}}", "{}", "unexpected ) in command", line: 1, column: 4),
        ErrorCase(
            "{{if 1}}{{define \"a\"}}{{end}}{{end}}", "{}", "{{define}} is only allowed at the top level", line: 1,
            column: 11),
        ErrorCase("{{3x}}", "{}", "bad number syntax", line: 1, column: 3),
        ErrorCase("{{99999999999999999999}}", "{}", "overflows int64", line: 1, column: 3),
        ErrorCase("{{}}", "{}", "missing value for command", line: 1, column: 3),
        ErrorCase("{{.a | }}", "{}", "missing command after |", line: 1, column: 8),
        ErrorCase("{{if}}{{end}}", "{}", "missing value for if", line: 1, column: 5),
        ErrorCase("{{template .name}}", "{}", "needs the template name as a quoted string", line: 1, column: 12),
        ErrorCase("{{.a\"x\"}}", "{}", "missing space before \"x\"", line: 1, column: 5),
        ErrorCase("{{print end}}", "{}", "unexpected {{end}} in command", line: 1, column: 9),
        ErrorCase("{{\"x\".y}}", "{}", "unexpected .y after term \"x\"", line: 1, column: 3),
        ErrorCase("{{'ab'}}", "{}", "malformed character constant", line: 1, column: 3),
        ErrorCase("{{\"\\q\"}}", "{}", "invalid escape", line: 1, column: 3),
        ErrorCase("{{#}}", "{}", "unrecognized character \"#\" in action", line: 1, column: 3),
        ErrorCase(
            #"{{define "b"}}x{{end}}{{block "b" .}}y{{end}}"#, "{}", "multiple definition of template \"b\"",
            line: 1, column: 25),
        ErrorCase(
            String(repeating: "{{if 1}}", count: 150), "{}", "nests deeper than 100 levels", line: 1, column: 803),
        ErrorCase(
            "{{" + String(repeating: "(", count: 150) + "}}", "{}", "nests deeper than 100 levels", line: 1, column: 103
        ),
    ]

    static let executionErrors: [ErrorCase] = [
        ErrorCase("{{.a.b}}", #"{"a":null}"#, "nil pointer evaluating interface {}.b", line: 1, column: 3),
        ErrorCase("line1\n  {{.a.b}}", #"{"a":null}"#, "nil pointer evaluating interface {}.b", line: 2, column: 5),
        ErrorCase(
            "{{range .l}}{{.x}}{{end}}", #"{"l":[null]}"#, "nil pointer evaluating interface {}.x", line: 1, column: 15),
        ErrorCase("{{.s.x}}", #"{"s":"str"}"#, "can't evaluate field x in type string", line: 1, column: 3),
        ErrorCase("{{.l.x}}", #"{"l":[]}"#, "can't evaluate field x in type []interface {}", line: 1, column: 3),
        ErrorCase("{{len .n}}", #"{"n":5}"#, "error calling len: len of type int64", line: 1, column: 3),
        ErrorCase("{{len .a}}", #"{"a":null}"#, "error calling len: len of nil pointer", line: 1, column: 3),
        ErrorCase("{{len .missing}}", "{}", "error calling len: len of no value", line: 1, column: 3),
        ErrorCase("{{len 1 2}}", "{}", "wrong number of args for len: want 1 got 2", line: 1, column: 3),
        ErrorCase("{{1 | len 2}}", "{}", "wrong number of args for len: want 1 got 2", line: 1, column: 7),
        ErrorCase("{{eq 1}}", "{}", "error calling eq: missing argument for comparison", line: 1, column: 3),
        ErrorCase("{{and}}", "{}", "wrong number of args for and: want at least 1 got 0", line: 1, column: 3),
        ErrorCase("{{index .l 5}}", #"{"l":[1]}"#, "error calling index: index out of range: 5", line: 1, column: 3),
        ErrorCase("{{index .missing 0}}", "{}", "error calling index: index of untyped nil", line: 1, column: 3),
        ErrorCase("{{index .m 0}}", #"{"m":{}}"#, "value has type int64; should be string", line: 1, column: 3),
        ErrorCase("{{slice .l 2 1}}", #"{"l":[1,2]}"#, "invalid slice index: 2 > 1", line: 1, column: 3),
        ErrorCase("{{div 1 0}}", "{}", "error calling div: runtime error: integer divide by zero", line: 1, column: 3),
        ErrorCase("{{mod 1 0}}", "{}", "error calling mod: runtime error: integer divide by zero", line: 1, column: 3),
        ErrorCase("{{divf 1 0}}", "{}", "error calling divf: decimal division by 0", line: 1, column: 3),
        ErrorCase("{{eq 1 1.0}}", "{}", "error calling eq: incompatible types for comparison", line: 1, column: 3),
        ErrorCase("{{lt 1 \"a\"}}", "{}", "error calling lt: incompatible types for comparison", line: 1, column: 3),
        ErrorCase("{{lt .missing 1}}", "{}", "error calling lt: invalid type for comparison", line: 1, column: 3),
        ErrorCase("{{eq .l .l}}", #"{"l":[1]}"#, "error calling eq: non-comparable type", line: 1, column: 3),
        ErrorCase("{{call .f}}", "{}", "error calling call: call is not supported", line: 1, column: 3),
        ErrorCase("{{template \"nope\"}}", "{}", "template \"nope\" not defined", line: 1, column: 3),
        ErrorCase(
            #"{{define "r"}}{{template "r"}}{{end}}{{template "r"}}"#, "{}", "exceeded maximum template depth (100)",
            line: 1, column: 17),
        ErrorCase("{{range .s}}{{end}}", #"{"s":"abc"}"#, "range can't iterate over abc", line: 1, column: 3),
        ErrorCase(
            "{{range $a, $b := 3}}{{end}}", "{}", "can't use 3 to iterate over more than one variable", line: 1,
            column: 3),
        ErrorCase("{{nil}}", "{}", "nil is not a command", line: 1, column: 3),
        ErrorCase("{{\"x\" 1}}", "{}", "can't give argument to non-function \"x\"", line: 1, column: 3),
        ErrorCase("{{1 | .a}}", #"{"a":{}}"#, "a is not a method but has arguments", line: 1, column: 7),
        ErrorCase("{{1 | $}}", "{}", "can't give argument to non-function $", line: 1, column: 7),
        ErrorCase("{{.m.a 1}}", #"{"m":{"a":1}}"#, "a is not a method but has arguments", line: 1, column: 3),
        ErrorCase("{{upper 1}}", "{}", "wrong type for value; expected string; got int64", line: 1, column: 9),
        ErrorCase("{{upper .missing}}", "{}", "invalid value; expected string", line: 1, column: 9),
        ErrorCase(
            "{{repeat \"3\" \"x\"}}", "{}", "wrong type for value; expected int; got string", line: 1, column: 10),
        ErrorCase(
            "{{ternary 1 2 \"yes\"}}", "{}", "wrong type for value; expected bool; got string", line: 1, column: 15),
        ErrorCase(
            "{{get .l \"a\"}}", #"{"l":[]}"#, "expected map[string]interface {}; got []interface {}", line: 1, column: 7
        ),
        ErrorCase("{{printf 1}}", "{}", "wrong type for value; expected string; got int64", line: 1, column: 10),
        ErrorCase(
            "{{first .s}}", #"{"s":"x"}"#, "error calling first: cannot find first on type string", line: 1, column: 3),
        ErrorCase("{{fail \"boom\"}}", "{}", "error calling fail: boom", line: 1, column: 3),
        ErrorCase(
            "{{repeat -1 \"x\"}}", "{}", "error calling repeat: strings: negative Repeat count", line: 1, column: 3),
        ErrorCase(
            "{{repeat 2000000 \"x\"}}", "{}", "error calling repeat: repeat would build 2000000 bytes", line: 1,
            column: 3),
        ErrorCase(
            "{{indent 2000000 \"x\"}}", "{}", "error calling indent: indent would build more than", line: 1, column: 3),
        ErrorCase(
            "{{range 2000}}{{repeat 1000 \"x\"}}{{end}}", "{}", "rendered output exceeds 1048576 bytes", line: 1,
            column: 17),
        ErrorCase(
            "{{range 100000}}{{range 100000}}{{end}}{{end}}", "{}", "execution exceeded 5000000 steps", line: 1,
            column: 19),
        ErrorCase(
            "{{$s := repeat 1000 \"ab\"}}{{range splitList \"\" $s}}{{range splitList \"\" $s}}{{range splitList \"\" $s}}{{end}}{{end}}{{end}}",
            "{}", "execution exceeded", line: 1, column: 79),
    ]

    @Test(arguments: parseErrors)
    func parseErrorsAreLocated(_ row: ErrorCase) {
        let error = failure(row.template, row.data)
        #expect(error != nil, "expected an error")
        guard let error else { return }
        #expect(error.message.contains(row.message), "\(error.description)")
        if !row.message.isEmpty {
            #expect(error.line == row.line && error.column == row.column, "\(error.description)")
        }
        #expect(error.template == "test")
    }

    @Test(arguments: executionErrors)
    func executionErrorsAreLocated(_ row: ErrorCase) {
        let error = failure(row.template, row.data)
        #expect(error != nil, "expected an error")
        guard let error else { return }
        #expect(error.message.contains(row.message), "\(error.description)")
        #expect(error.line == row.line && error.column == row.column, "\(error.description)")
    }

    @Test func descriptionNamesTemplateLineAndColumn() {
        let error = failure("Rollout\n\n  {{nope .x}}", name: "rollout-paused")
        #expect(error?.description == #"template "rollout-paused" line 3, column 5: function "nope" not defined"#)
    }

    @Test func errorsInsideDefinitionsNameTheDefinition() {
        let error = failure(#"{{define "inner"}}{{.x.y}}{{end}}{{template "inner" .}}"#, #"{"x":null}"#)
        #expect(error?.template == "inner")
        #expect(error?.message.contains("nil pointer evaluating interface {}.y") == true)
    }

    @Test func parsingDoesNotRunFunctions() throws {
        let template = try GoTemplate(name: "lazy", text: "{{if false}}{{len 1 2 3}}{{end}}ok")
        #expect(try template.render(.object([:])) == "ok")
    }
}
