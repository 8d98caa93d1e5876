import AviaryDashboard
import Testing

@Suite struct HTMLTests {
    @Test(arguments: [
        ("plain", "plain"), ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"), ("\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;"), ("", ""),
        ("ünïcödé ✔", "ünïcödé ✔"),
    ])
    func escapesText(input: String, expected: String) {
        #expect(HTML.escape(input) == expected)
        let piece: HTML = "<td>\(input)</td>"
        #expect(piece.text == "<td>\(expected)</td>")
    }

    @Test func markupGoesInAsMarkupAndNilAsNothing() {
        let inner: HTML = "<b>\("<i>")</b>"
        let missing: String? = nil
        let outer: HTML = "<p>\(inner)\(missing)\(3)</p>"
        #expect(outer.text == "<p><b>&lt;i&gt;</b>3</p>")
    }
}
