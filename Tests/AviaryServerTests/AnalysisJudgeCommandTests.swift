import AviaryTestSupport
import Foundation
import Testing

/// Whether scipy is importable here; scripts/test installs it, and CI must have it.
private let scipyIsInstalled: Bool = {
    guard let (status, _) = try? runCommand(["/usr/bin/env", "python3", "-c", "import scipy.stats"]) else {
        return false
    }
    return status == 0
}()

/// `aviary analysis judge` against scipy's `mannwhitneyu`, run live on the same files.
@Suite(
    .serialized,
    .enabled(
        if: scipyIsInstalled || ProcessInfo.processInfo.environment["CI"] != nil,
        "scipy is not installed: run scripts/test, or pip install scipy"))
struct AnalysisJudgeCommandTests {
    /// Samples of many sizes, shifts and tie patterns, the same every run.
    static func samples() -> [(canary: [Double], baseline: [Double])] {
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        var pairs: [(canary: [Double], baseline: [Double])] = []
        for (index, (canarySize, baselineSize)) in [
            (1, 1), (2, 3), (5, 4), (8, 8), (12, 10), (20, 30), (50, 50), (60, 45), (100, 120), (200, 180),
            (7, 60), (300, 300),
        ].enumerated() {
            let shift = [0, 0.02, 0.1, 0.3, -0.2][index % 5]
            // Every third case rounds to few distinct values, so ties are many.
            let round: (Double) -> Double = index % 3 == 0 ? { ($0 / 10).rounded() * 10 } : { $0 }
            let draw = { (scale: Double) in round(100 * scale * exp(0.2 * (uniform() + uniform() + uniform() - 1.5))) }
            pairs.append(((0..<canarySize).map { _ in draw(1 + shift) }, (0..<baselineSize).map { _ in draw(1) }))
        }
        return pairs
    }

    @Test func uAndPValueAreScipysToOneInABillion() throws {
        let directory = NSTemporaryDirectory() + "aviary-judge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let aviary = builtProductsDirectory() + "/aviary"
        var files: [[String]] = []
        for (index, pair) in Self.samples().enumerated() {
            let canary = "\(directory)/canary-\(index).json"
            let baseline = "\(directory)/baseline-\(index).json"
            try JSONSerialization.data(withJSONObject: pair.canary).write(to: URL(fileURLWithPath: canary))
            try JSONSerialization.data(withJSONObject: pair.baseline).write(to: URL(fileURLWithPath: baseline))
            files.append([canary, baseline])
        }
        let script = """
            import json, sys
            from scipy.stats import mannwhitneyu
            for canary, baseline in json.load(open(sys.argv[1])):
                r = mannwhitneyu(json.load(open(canary)), json.load(open(baseline)), alternative='two-sided',
                                 use_continuity=True, method='asymptotic')
                print(json.dumps({"u": float(r.statistic), "pValue": float(r.pvalue)}))
            """
        try script.write(toFile: directory + "/check.py", atomically: true, encoding: .utf8)
        try JSONSerialization.data(withJSONObject: files).write(to: URL(fileURLWithPath: directory + "/files.json"))
        let (status, output) = try runCommand([
            "/usr/bin/env", "python3", directory + "/check.py", directory + "/files.json",
        ])
        try #require(status == 0, "\(output)")
        let expected = output.split(separator: "\n").map { line in
            try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Double]
        }
        try #require(expected.count == files.count)
        for (index, pair) in files.enumerated() {
            let (judgeStatus, judged) = try runCommand([
                aviary, "analysis", "judge", "--canary", pair[0], "--baseline", pair[1], "-o", "json",
            ])
            try #require(judgeStatus == 0, "\(judged)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(judged.utf8)) as? [String: Any])
            let u = try #require(object["u"] as? Double)
            let p = try #require(object["pValue"] as? Double)
            #expect(u == expected[index]["u"], "case \(index): U \(u), scipy \(expected[index]["u"]!)")
            #expect(
                abs(p - expected[index]["pValue"]!) <= 1e-9,
                "case \(index): p \(p), scipy \(expected[index]["pValue"]!)")
            for key in ["classification", "ciLower", "ciUpper", "effect"] { #expect(object[key] != nil, "\(key)") }
        }
    }

    @Test func aBadSampleFileNamesTheOptionTheItemAndTheFix() throws {
        let directory = NSTemporaryDirectory() + "aviary-judge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[1, 2, \"3\"]".write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        try "[1, 2, null]".write(toFile: directory + "/good.json", atomically: true, encoding: .utf8)
        let aviary = builtProductsDirectory() + "/aviary"
        let bad = try runCommand([
            aviary, "analysis", "judge", "--canary", directory + "/bad.json", "--baseline", directory + "/good.json",
        ])
        #expect(bad.status == 2)
        #expect(
            bad.output.contains("--canary \(directory)/bad.json: item 2 is a string, not a number"), "\(bad.output)")
        let missing = try runCommand([
            aviary, "analysis", "judge", "--canary", directory + "/nope.json", "--baseline", directory + "/good.json",
        ])
        #expect(missing.status == 2 && missing.output.contains("nope.json: cannot read the file"))
        let nodata = try runCommand([
            aviary, "analysis", "judge", "--canary", directory + "/good.json", "--baseline", directory + "/good.json",
        ])
        #expect(nodata.status == 0 && nodata.output.contains("classification:  Pass"), "\(nodata.output)")
        let direction = try runCommand([
            aviary, "analysis", "judge", "--canary", "a", "--baseline", "b", "--direction", "up",
        ])
        #expect(direction.status != 0 && direction.output.contains("--direction up: use increase, decrease or either"))
    }
}
