import Testing

@testable import AviaryGoTemplate

@Suite("Rendering matches Go's text/template")
struct RenderTests {
    static let basics: [RenderCase] = [
        RenderCase("hello", "{}", "hello"),
        RenderCase("{{.a}}", #"{"a":"x"}"#, "x"),
        RenderCase("{{.a.b.c}}", #"{"a":{"b":{"c":3}}}"#, "3"),
        RenderCase("{{.missing}}", "{}", "<no value>"),
        RenderCase("{{.missing.deeper.still}}", "{}", "<no value>"),
        RenderCase("{{.n}}", #"{"n":null}"#, "<no value>"),
        RenderCase("{{.}}", #"{"b":[1,"x",true],"a":null}"#, "map[a:<nil> b:[1 x true]]"),
        RenderCase("{{.m}}", #"{"m":{"z":{"y":1},"a":[]}}"#, "map[a:[] z:map[y:1]]"),
        RenderCase("{{.f}} {{.g}} {{.h}}", #"{"f":2.5,"g":-0.125,"h":1e21}"#, "2.5 -0.125 1e+21"),
        RenderCase("{{.big}}", #"{"big":1234567.5}"#, "1.2345675e+06"),
        RenderCase("{{.small}}", #"{"small":0.00001}"#, "1e-05"),
        RenderCase("{{.b}} {{.t}}", #"{"b":false,"t":true}"#, "false true"),
        RenderCase("{{$}}", #"{"a":1}"#, "map[a:1]"),
        RenderCase("{{ .a }}", #"{"a":"spaced"}"#, "spaced"),
        RenderCase("{{ if\n  .a }}multi-line{{ end }}", #"{"a":1}"#, "multi-line"),
        RenderCase("{{(.a).b}}", #"{"a":{"b":7}}"#, "7"),
        RenderCase("{{(.a).b}}", #"{"a":null}"#, "<no value>"),
        RenderCase("{{$x := .a}}{{$x.b}}", #"{"a":null}"#, "<no value>"),
    ]

    static let trimming: [RenderCase] = [
        RenderCase("a  {{- .x -}}  b", #"{"x":1}"#, "a1b"),
        RenderCase("a \n\t {{- .x}} \n b", #"{"x":1}"#, "a1 \n b"),
        RenderCase("a {{.x -}} \n\n b", #"{"x":1}"#, "a 1b"),
        RenderCase("x \n{{- /* comment */ -}}\n y", "{}", "xy"),
        RenderCase("a{{/* a comment\nover lines */}}b", "{}", "ab"),
        RenderCase("{{-3}}", "{}", "-3"),
        RenderCase("{{range .l -}}\n  {{.}}\n{{- end}}", #"{"l":[1,2]}"#, "12"),
    ]

    static let control: [RenderCase] = [
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":0}"#, "no"),
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":[0]}"#, "yes"),
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":{}}"#, "no"),
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":""}"#, "no"),
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":null}"#, "no"),
        RenderCase("{{if .a}}yes{{else}}no{{end}}", #"{"a":0.5}"#, "yes"),
        RenderCase("{{if eq .n 1}}one{{else if eq .n 2}}two{{else}}many{{end}}", #"{"n":2}"#, "two"),
        RenderCase("{{if eq .n 1}}one{{else if eq .n 2}}two{{else}}many{{end}}", #"{"n":7}"#, "many"),
        RenderCase("{{with .a}}{{.b}}{{else}}none{{end}}", #"{"a":{"b":1}}"#, "1"),
        RenderCase("{{with .a}}{{.b}}{{else}}none{{end}}", "{}", "none"),
        RenderCase("{{with .a}}A{{else with .b}}B{{.}}{{else}}C{{end}}", #"{"b":2}"#, "B2"),
        RenderCase("{{with $x := .a}}{{$x}}{{.}}{{end}}", #"{"a":"v"}"#, "vv"),
        RenderCase("{{range $i, $v := .l}}{{$i}}={{$v}};{{end}}", #"{"l":["a","b"]}"#, "0=a;1=b;"),
        RenderCase("{{range $k, $v := .m}}{{$k}}:{{$v}},{{end}}", #"{"m":{"b":2,"a":1,"c":3}}"#, "a:1,b:2,c:3,"),
        RenderCase("{{range $v := .m}}{{$v}}{{end}}", #"{"m":{"b":2,"a":1}}"#, "12"),
        RenderCase("{{range .m}}{{.}}{{end}}", #"{"m":{"B":2,"a":1,"A":0}}"#, "021"),
        RenderCase("{{range .l}}[{{.}}]{{end}}", #"{"l":["a","b"]}"#, "[a][b]"),
        RenderCase("{{range .l}}x{{else}}empty{{end}}", #"{"l":[]}"#, "empty"),
        RenderCase("{{range .l}}x{{else}}empty{{end}}", "{}", "empty"),
        RenderCase("{{range .l}}x{{else}}empty{{end}}", #"{"l":null}"#, "empty"),
        RenderCase(
            "{{range .l}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}",
            #"{"l":[0,1,2,3,4]}"#, "02"),
        RenderCase("{{range 3}}{{.}}{{end}}", "{}", "012"),
        RenderCase("{{range $i := 2}}<{{$i}}>{{end}}", "{}", "<0><1>"),
        RenderCase("{{range .l}}{{$.name}}{{end}}", #"{"l":[1,2],"name":"n"}"#, "nn"),
        RenderCase("{{range .l}}{{range .}}{{.}}{{end}};{{end}}", #"{"l":[[1,2],[3]]}"#, "12;3;"),
        RenderCase(
            "{{range $index, $c := .containers}}{{if not $index}},{{end}}{{$c.image}}{{end}}",
            #"{"containers":[{"image":"a:1"},{"image":"b:2"}]}"#, ",a:1b:2"),
    ]

    static let variables: [RenderCase] = [
        RenderCase("{{$x := 1}}{{$x}}", "{}", "1"),
        RenderCase("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "{}", "2"),
        RenderCase("{{$x := 1}}{{if true}}{{$x := 5}}{{$x}}{{end}}{{$x}}", "{}", "51"),
        RenderCase("{{$n := 0}}{{range .l}}{{$n = add $n .}}{{end}}{{$n}}", #"{"l":[1,2,3]}"#, "6"),
        RenderCase("{{$x := .a}}{{with .b}}{{$x}}{{.}}{{end}}", #"{"a":"A","b":"B"}"#, "AB"),
        RenderCase("{{define \"t\"}}{{$}}{{end}}{{template \"t\" .a}}", #"{"a":"inner"}"#, "inner"),
    ]

    static let pipelines: [RenderCase] = [
        RenderCase(#"{{"abc" | upper}}"#, "{}", "ABC"),
        RenderCase("{{.n | add 1}}", #"{"n":2}"#, "3"),
        RenderCase("{{add 1 2 | mul 10 | printf \"%03d\"}}", "{}", "030"),
        RenderCase("{{(add 1 2)}}", "{}", "3"),
        RenderCase("{{len (list 1 2 (list 3))}}", "{}", "3"),
        RenderCase("{{.missing | default \"fallback\"}}", "{}", "fallback"),
        RenderCase("{{$v := add 1 1}}{{$v}}", "{}", "2"),
        RenderCase("{{(list 1 2) | len}}", "{}", "2"),
    ]

    static let literals: [RenderCase] = [
        RenderCase(#"{{"a\tb\u00e9\x41"}}"#, "{}", "a\tbéA"),
        RenderCase("{{`raw\\n`}}", "{}", "raw\\n"),
        RenderCase("{{'a'}} {{'\\n'}}", "{}", "97 10"),
        RenderCase("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}", "{}", "31 15 15 5 1000"),
        RenderCase("{{1.5}} {{1e3}} {{.5}} {{-2.0}}", "{}", "1.5 1000 0.5 -2"),
        RenderCase("{{true}} {{false}}", "{}", "true false"),
        RenderCase("{{print nil}}", "{}", "<nil>"),
        RenderCase("{{add 9223372036854775807 1}}", "{}", "-9223372036854775808"),
    ]

    static let builtins: [RenderCase] = [
        RenderCase("{{and 1 0 2}}", "{}", "0"),
        RenderCase("{{and 1 2}}", "{}", "2"),
        RenderCase(#"{{or 0 "" "x"}}"#, "{}", "x"),
        RenderCase(#"{{or 0 ""}}"#, "{}", ""),
        RenderCase("{{and false (len 1)}}", "{}", "false"),
        RenderCase("{{or .a (len 1)}}", #"{"a":"set"}"#, "set"),
        RenderCase("{{and .missing .x}}", "{}", "<no value>"),
        RenderCase("{{not .missing}} {{not 1}} {{not \"\"}}", "{}", "true false true"),
        RenderCase(#"{{len "héllo"}} {{len .l}} {{len .m}}"#, #"{"l":[1,2],"m":{"a":1}}"#, "6 2 1"),
        RenderCase("{{index .l 1}}", #"{"l":["a","b"]}"#, "b"),
        RenderCase(#"{{index .m "a"}}"#, #"{"m":{"a":1}}"#, "1"),
        RenderCase(#"{{index .m "zz"}}"#, #"{"m":{"a":1}}"#, "<no value>"),
        RenderCase(#"{{index .m "a" 1 "b"}}"#, #"{"m":{"a":[0,{"b":"deep"}]}}"#, "deep"),
        RenderCase(#"{{index "abc" 1}}"#, "{}", "98"),
        RenderCase(#"{{slice "hello" 1 3}} {{slice .l 1}} {{slice .l}}"#, #"{"l":["a","b","c"]}"#, "el [b c] [a b c]"),
        RenderCase("{{eq 1 2 3 1}} {{eq 1 2}} {{eq \"a\" \"a\"}} {{ne 1 2}}", "{}", "true false true true"),
        RenderCase(
            "{{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ge 2.5 2.5}} {{lt \"a\" \"b\"}}", "{}", "true true false true true"),
        RenderCase("{{eq .missing nil}} {{eq .n nil}} {{eq .s nil}}", #"{"n":null,"s":"x"}"#, "true true false"),
        RenderCase(#"{{print 1 2 "a" 3 "b" "c"}}"#, "{}", "1 2a3bc"),
        RenderCase(#"{{println 1 "a"}}"#, "{}", "1 a\n"),
        RenderCase("{{print .missing}} {{print .n}}", #"{"n":null}"#, "<nil> <nil>"),
        RenderCase(#"{{html "<a href='x'>\"&</a>"}}"#, "{}", "&lt;a href=&#39;x&#39;&gt;&#34;&amp;&lt;/a&gt;"),
        RenderCase(#"{{js "it's <b>=\"\n"}}"#, "{}", #"it\'s \u003Cb\u003E\u003D\"\u000A"#),
        RenderCase(#"{{urlquery "a b&c/d"}}"#, "{}", "a+b%26c%2Fd"),
        RenderCase(#"{{"<x>" | html}}"#, "{}", "&lt;x&gt;"),
    ]

    static let printf: [RenderCase] = [
        RenderCase(#"{{printf "%s-%d" "a" 5}}"#, "{}", "a-5"),
        RenderCase(
            #"{{printf "%5.2f|%-4s|%04d|%+d|%x|%X|%o" 3.14159 "ab" 7 3 255 255 8}}"#, "{}",
            " 3.14|ab  |0007|+3|ff|FF|10"),
        RenderCase(#"{{printf "%q %v %t" "hi\n" "v" true}}"#, "{}", #""hi\n" v true"#),
        RenderCase(
            #"{{printf "%e|%E|%g|%.3g|%G" 1234.5 0.5 0.00001 3.14159 1e21}}"#, "{}",
            "1.234500e+03|5.000000E-01|1e-05|3.14|1E+21"),
        RenderCase(#"{{printf "%c%c" 72 105}} {{printf "%%"}} {{printf "%6.2f%%" 12.5}}"#, "{}", "Hi %  12.50%"),
        RenderCase(
            #"{{printf "%v" .m}} {{printf "%v" .l}}"#, #"{"m":{"b":1,"a":"x"},"l":[1,"y"]}"#, "map[a:x b:1] [1 y]"),
        RenderCase(#"{{printf "%d" "x"}}"#, "{}", "%!d(string=x)"),
        RenderCase(#"{{printf "%s" .n}}"#, #"{"n":5}"#, "%!s(int64=5)"),
        RenderCase(#"{{printf "%d"}}"#, "{}", "%!d(MISSING)"),
        RenderCase(#"{{printf "%d" 1 .n}}"#, #"{"n":2}"#, "1%!(EXTRA int64=2)"),
        RenderCase(#"{{printf "%v %s" nil nil}}"#, "{}", "<nil> %!s(<nil>)"),
        RenderCase(#"{{printf "%d" .l}}"#, #"{"l":["a",1]}"#, "[%!d(string=a) 1]"),
        RenderCase(#"{{printf "%s" .l}}"#, #"{"l":["a","b"]}"#, "[a b]"),
        RenderCase(#"{{printf "%5s|%-5d|%05.1f" "abc" 42 2.25}}"#, "{}", "  abc|42   |002.2"),
        RenderCase(#"{{printf "%.2s" "abcdef"}} {{printf "%x" "hi"}} {{printf "%#x" 255}}"#, "{}", "ab 6869 0xff"),
        RenderCase(#"{{printf "%v|%.1f" .f .f}}"#, #"{"f":0.05}"#, "0.05|0.1"),
        RenderCase(#"{{printf "abc%"}}"#, "{}", "abc%!(NOVERB)"),
        RenderCase(#"{{printf "%*d" 5 42}}"#, "{}", "   42"),
        RenderCase(#"{{printf "%T %T %T" .n "s" .l}}"#, #"{"l":[],"n":1}"#, "int64 string []interface {}"),
    ]

    static let sprig: [RenderCase] = [
        RenderCase(
            "{{add 1 2}} {{add .s 1}} {{add1 .n}} {{add 1.9 1}} {{add .missing 1}}", #"{"s":"41","n":9}"#, "3 42 10 2 1"
        ),
        RenderCase(
            "{{sub 5 3}} {{mul 2 3 4}} {{div 7 2}} {{mod 7 3}} {{max 1 5 3}} {{min 4 2 8}}", "{}", "2 24 3 1 5 2"),
        RenderCase("{{div -7 2}} {{mod -7 3}}", "{}", "-3 -1"),
        RenderCase("{{addf 0.1 0.2}} {{divf 1 4}} {{mulf 1.5 2}} {{subf 5 1.5}}", "{}", "0.3 0.25 3 3.5"),
        RenderCase(#"{{upper "abc"}} {{lower "ABC"}} {{title "hello world-foo"}}"#, "{}", "ABC abc Hello World-Foo"),
        RenderCase(
            #"[{{trim "  a b \n"}}] {{trimPrefix "v" "v1.2"}} {{trimSuffix ".yaml" "a.yaml"}}"#, "{}", "[a b] 1.2 a"),
        RenderCase(#"{{trunc 3 "abcdef"}} {{trunc -2 "abcdef"}} {{trunc 10 "ab"}}"#, "{}", "abc ef ab"),
        RenderCase(
            #"{{replace "a" "b" "banana"}} {{contains "an" "banana"}} {{hasPrefix "ba" "banana"}} {{hasSuffix "x" "banana"}}"#,
            "{}", "bbnbnb true true false"),
        RenderCase(#"{{repeat 3 "ab"}} {{nospace " a b c "}}"#, "{}", "ababab abc"),
        RenderCase(#"{{quote "a" 1}} {{squote "b"}} {{cat "a" 1 .missing "b"}}"#, "{}", #""a" "1" 'b' a 1 b"#),
        RenderCase(
            #"{{join ", " .l}} {{splitList "," "a,b,,c"}} {{join "-" "solo"}}"#, #"{"l":["a",2,null,"c"]}"#,
            "a, 2, c [a b  c] solo"),
        RenderCase(
            #"{{default "x" .missing}} {{default "x" "y"}} {{default "x" 0}} {{"" | default "piped"}}"#, "{}",
            "x y x piped"),
        RenderCase(
            #"{{empty ""}} {{empty .l}} {{empty 1}} {{coalesce .missing "" "z"}}"#, #"{"l":[]}"#, "true true false z"),
        RenderCase(#"{{ternary "yes" "no" true}} {{ternary "yes" "no" (eq 1 2)}}"#, "{}", "yes no"),
        RenderCase(#"{{list 1 "a"}} {{dict "b" 1 "a" 2}} {{dict "odd"}}"#, "{}", "[1 a] map[a:2 b:1] map[odd:]"),
        RenderCase(
            #"{{get .m "a"}} [{{get .m "zz"}}] {{hasKey .m "a"}} {{hasKey .m "zz"}} {{keys .m}}"#,
            #"{"m":{"b":2,"a":1}}"#, "1 [] true false [a b]"),
        RenderCase("{{first .l}} {{last .l}} {{first .e}}", #"{"l":["a","b","c"],"e":[]}"#, "a c <no value>"),
        RenderCase(#"{{toString 5}} {{toString .f}} {{toString "s"}}"#, #"{"f":1.5}"#, "5 1.5 s"),
        RenderCase("{{toJson .}}", #"{"b":[1,"<x>",2.5],"a":null}"#, #"{"a":null,"b":[1,"\u003cx\u003e",2.5]}"#),
        RenderCase("{{toPrettyJson .m}}", #"{"m":{"b":[1],"a":{}}}"#, "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}"),
        RenderCase(
            #"{{b64enc "hello"}} {{b64dec "aGVsbG8="}} {{b64dec "!!"}}"#, "{}",
            "aGVsbG8= hello illegal base64 data at input byte 0"),
        RenderCase(#"{{indent 2 "a\nb"}}|{{nindent 2 "c"}}"#, "{}", "  a\n  b|\n  c"),
        RenderCase(#"{{int "42"}} {{int64 3.9}} {{float64 "2.5"}} {{int "nope"}} {{int "3.0"}}"#, "{}", "42 3 2.5 0 3"),
        RenderCase("{{toStrings .l}} {{len (toStrings .l)}}", #"{"l":[1,"a",true]}"#, "[1 a true] 3"),
        RenderCase(
            #"{{kindOf .l}} {{kindOf .m}} {{kindOf "s"}} {{typeOf .n}}"#, #"{"l":[],"m":{},"n":1}"#,
            "slice map string int64"),
    ]

    static let templates: [RenderCase] = [
        RenderCase(#"{{define "x"}}[{{.}}]{{end}}{{template "x" .n}}"#, #"{"n":5}"#, "[5]"),
        RenderCase(#"{{define "x"}}[{{.}}]{{end}}{{template "x"}}"#, "{}", "[<no value>]"),
        RenderCase(#"{{block "b" .}}default {{.n}}{{end}}"#, #"{"n":1}"#, "default 1"),
        RenderCase(
            #"{{define "countdown"}}{{.}}{{if gt . 0}},{{template "countdown" sub . 1}}{{end}}{{end}}{{template "countdown" 3}}"#,
            "{}", "3,2,1,0"),
        RenderCase(#"{{define "test"}}defined body{{end}}"#, "{}", "defined body"),
    ]

    @Test(arguments: basics + trimming + control + variables + pipelines + literals)
    func renders(_ row: RenderCase) {
        #expect(render(row.template, row.data) == row.expected)
    }

    @Test(arguments: builtins + printf)
    func builtinFunctions(_ row: RenderCase) {
        #expect(render(row.template, row.data) == row.expected)
    }

    @Test(arguments: sprig + templates)
    func sprigAndDefinitions(_ row: RenderCase) {
        #expect(render(row.template, row.data) == row.expected)
    }

    @Test(arguments: [
        (GoValue.double(3.0), "3"), (.double(2.5), "2.5"), (.double(1e21), "1e+21"), (.double(1e20), "1e+20"),
        (.double(123456), "123456"), (.double(1_234_567), "1.234567e+06"), (.double(0.0001), "0.0001"),
        (.double(-0.0), "-0"), (.double(.infinity), "+Inf"), (.double(-.infinity), "-Inf"), (.double(.nan), "NaN"),
        (.double(0.1), "0.1"), (.double(100), "100"), (.double(1e6), "1e+06"),
    ])
    func printsFloatsLikeGo(_ value: GoValue, _ expected: String) throws {
        let template = try GoTemplate(name: "float", text: "{{.}}")
        #expect(try template.render(value) == expected)
    }
}
