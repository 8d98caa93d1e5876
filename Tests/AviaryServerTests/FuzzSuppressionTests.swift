import AviaryTestSupport
import Foundation
import Testing

/// Every pattern of a fuzz target's LeakSanitizer suppressions names a function that exists: a
/// rename or a move between modules changes the mangled name, and a stale pattern makes every
/// clean fuzz run fail at exit on the allocations it was there to excuse.
@Suite struct FuzzSuppressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `leak:PATTERN` lines; `*` matches any run of characters, as in LeakSanitizer.
    static func patterns(in file: String) throws -> [String] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("leak:") }.map { String($0.dropFirst("leak:".count)) }
    }

    static func matches(_ pattern: String, _ symbol: String) -> Bool {
        let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(symbol)
        // A substring match, the pieces in order (no `^` or `$` anchors are used here).
        for piece in pieces where !piece.isEmpty {
            guard let range = rest.range(of: piece) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    @Test func everyRouterSuppressionNamesAFunctionOfTheBuild() throws {
        let patterns = try Self.patterns(in: Self.root + "/Fuzz/router.lsan-suppressions")
        #expect(!patterns.isEmpty)
        // The router's code is linked into `aviary` (`aviary router`), under the same names.
        let symbols = try runCommand(["/usr/bin/nm", "--defined-only", builtProductsDirectory() + "/aviary"]).output
            .split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        for pattern in patterns {
            #expect(symbols.contains { Self.matches(pattern, $0) }, "no function of the build matches leak:\(pattern)")
        }
    }

    @Test(arguments: [
        ("RouteTableV*5ShapeO5table_WZ", "$s12AviaryRoutes10RouteTableV0A6RouterE5ShapeO5table_WZ", true),
        ("RouteTableV*5ShapeO5table_WZ", "$s12AviaryRouter10RouteTableV5ShapeO5table_WZ", true),
        ("RouteTableV*5ShapeO5table_WZ", "$s12AviaryRouter10RouteTableV5ShapeO5tableAFvau", false),
        ("s12AviaryRouter10RouteTableV5ShapeO5table_WZ", "$s12AviaryRoutes10RouteTableV0A6RouterE5ShapeO5table_WZ", false),
    ])
    func patternsMatchAsLeakSanitizerReadsThem(pattern: String, symbol: String, expected: Bool) {
        #expect(Self.matches(pattern, symbol) == expected)
    }
}
