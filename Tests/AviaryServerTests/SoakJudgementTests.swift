import Testing

@testable import AviaryHarness

/// A series of samples and what the judgement must say of it.
struct SoakSeries: Sendable, CustomTestStringConvertible {
    var name: String
    var samples: [SoakSample]
    var passes: Bool
    var testDescription: String { name }

    /// Samples from (minute, releases, kB, descriptors) rows.
    init(_ name: String, passes: Bool, _ rows: [(Double, Int, Int, Int)]) {
        self.name = name
        self.passes = passes
        samples = rows.map {
            SoakSample(minute: $0.0, releases: $0.1, residentKilobytes: $0.2, descriptors: $0.3)
        }
    }

    /// One sample a minute for `minutes` minutes, 2.8 releases a minute (56 in 20 minutes, as in
    /// issue 28's run), with RSS and descriptors given by the minute and the releases so far.
    init(
        _ name: String, passes: Bool, minutes: Int = 20,
        rss: (_ minute: Int, _ releases: Int) -> Int, descriptors: (_ minute: Int, _ releases: Int) -> Int
    ) {
        self.init(
            name, passes: passes,
            (0...minutes).map { minute in
                let releases = minute * 14 / 5
                return (Double(minute), releases, rss(minute, releases), descriptors(minute, releases))
            })
    }

    /// The daemon's samples of the 11-minute soak recorded in the README (2026-11-28; minutes
    /// from the log's times): RSS climbing about 160 kB a minute after the warm-up, 31
    /// descriptors but one sample of 30.
    static let recordedDaemonClimb = SoakSeries(
        "recorded: daemon RSS climbing 10 MB/h (README, 11-minute run)", passes: false,
        [
            (0, 0, 62120, 27), (1.09, 2, 63492, 31), (2.76, 6, 63744, 31), (3.14, 7, 63772, 31),
            (4.96, 8, 63800, 30), (6.11, 9, 63840, 31), (6.78, 10, 63896, 31), (7.19, 11, 63964, 31),
            (8.08, 13, 63984, 31), (9.10, 16, 64052, 31), (10.14, 19, 64532, 31), (11.22, 22, 64660, 31),
            (11.28, 22, 64660, 31),
        ])

    /// The router's samples of the same run, taken with traffic in flight on an overloaded machine:
    /// descriptors between 50 and 472 with the connections open at the moment, RSS at a high-water
    /// mark. Noise, falling over the second half.
    static let recordedRouterNoise = SoakSeries(
        "recorded: router descriptors 50 to 472 with connections in flight (README, 11-minute run)", passes: true,
        [
            (0, 0, 37028, 42), (1.09, 2, 40428, 207), (2.76, 6, 44260, 316), (3.14, 7, 44260, 54),
            (4.96, 8, 48508, 472), (6.11, 9, 48508, 343), (6.78, 10, 48248, 138), (7.19, 11, 48248, 151),
            (8.08, 13, 48248, 62), (9.10, 16, 48248, 52), (10.14, 19, 48248, 109), (11.22, 22, 48248, 51),
            (11.28, 22, 48248, 50),
        ])
}

@Suite struct SoakJudgementTests {
    @Test(arguments: [
        // Issue 28's descriptors: 30, then 31 from minute 5 on; RSS flat.
        SoakSeries(
            "one-off descriptor step at minute 5", passes: true, rss: { _, _ in 65_152 },
            descriptors: { minute, _ in minute < 5 ? 30 : 31 }),
        // The worst place for a step: the middle of the judged window.
        SoakSeries(
            "one-off descriptor step of 2 at minute 15", passes: true, rss: { _, _ in 65_152 },
            descriptors: { minute, _ in minute < 15 ? 30 : 32 }),
        SoakSeries(
            "one descriptor leaked per release", passes: false, rss: { _, _ in 65_152 },
            descriptors: { _, releases in 30 + releases }),
        SoakSeries(
            "one descriptor leaked every 5 releases", passes: false, rss: { _, _ in 65_152 },
            descriptors: { _, releases in 30 + releases / 5 }),
        // Issue 28's RSS: 65,152 kB to 66,584 kB in 20 minutes, 33 kB a minute over the second half.
        SoakSeries(
            "steady RSS climb of 33 kB a minute", passes: false,
            rss: { minute, _ in minute < 10 ? 65_152 + 110 * minute : 66_254 + 33 * (minute - 10) },
            descriptors: { minute, _ in minute < 5 ? 30 : 31 }),
        // A cache filling to its cap during the warm-up, then flat.
        SoakSeries(
            "RSS step during warm-up, flat after", passes: true,
            rss: { minute, _ in minute < 8 ? 65_152 + 150 * minute : 66_352 }, descriptors: { _, _ in 31 }),
        // Page-sized jitter and a descriptor in flight now and then, no trend.
        SoakSeries(
            "noise", passes: true,
            rss: { minute, _ in 66_000 + [0, 64, -48, 120, -96, 8, 40, -72, 16, -24][minute % 10] },
            descriptors: { minute, _ in 31 + [0, 1, 0, 0, 2, 0, 1, 0, 0, 0][minute % 10] }),
        SoakSeries.recordedDaemonClimb,
        SoakSeries.recordedRouterNoise,
    ])
    func theVerdictFollowsTheTrendOverTheSecondHalf(_ series: SoakSeries) {
        let judgement = SoakJudgement.judge(samples: ["daemon": series.samples], unsettled: 0, clientErrors: 0)
        #expect(judgement.passed == series.passes, "\(judgement.failures) \(judgement.trendLines)")
        #expect(judgement.trends["daemon"] != nil)
    }

    @Test func aLeakOfOneDescriptorPerReleaseIsReportedAsOnePerRelease() throws {
        let series = SoakSeries(
            "leak", passes: false, rss: { _, _ in 65_152 }, descriptors: { _, releases in 30 + releases })
        let judgement = SoakJudgement.judge(samples: ["daemon": series.samples], unsettled: 0, clientErrors: 0)
        let trend = try #require(judgement.trends["daemon"])
        #expect(abs(try #require(trend.descriptors.perRelease) - 1) < 0.05)
        // 2.8 releases a minute: 168 an hour.
        #expect(abs(trend.descriptors.perHour - 168) < 10)
        #expect(trend.residentKilobytes.perHour == 0)
        #expect(
            judgement.failures == [
                "daemon descriptors climb \(String(format: "%.1f", trend.descriptors.perHour))/h "
                    + "(\(String(format: "%.1f", trend.descriptors.rise)) over the second half; tolerance 6.0/h and 3.0)"
            ])
    }

    @Test func unsettledReleasesAndClientErrorsFailAFlatRun() {
        let flat = SoakSeries("flat", passes: true, rss: { _, _ in 65_000 }, descriptors: { _, _ in 31 }).samples
        #expect(SoakJudgement.judge(samples: ["daemon": flat], unsettled: 0, clientErrors: 0).passed)
        #expect(
            SoakJudgement.judge(samples: ["daemon": flat], unsettled: 1, clientErrors: 0).failures
                == ["1 release(s) did not settle"])
        #expect(
            SoakJudgement.judge(samples: ["daemon": flat], unsettled: 0, clientErrors: 3).failures
                == ["3 client error(s) outside bad canaries"])
    }

    @Test func tooFewSamplesCannotBeJudged() {
        let one = [SoakSample(minute: 0, releases: 0, residentKilobytes: 65_000, descriptors: 31)]
        let judgement = SoakJudgement.judge(samples: ["daemon": one, "router": []], unsettled: 0, clientErrors: 0)
        #expect(!judgement.passed)
        #expect(judgement.failures.count == 2)
    }

    @Test(arguments: [
        ([0, 1, 2], [1, 3, 5], 2.0),
        ([0, 1, 2, 3], [5, 5, 5, 5], 0.0),
        ([0, 1, 2, 3], [0, 0, 1, 1], 0.4),
    ])
    func leastSquaresSlope(x: [Double], y: [Double], slope: Double) throws {
        #expect(abs(try #require(SoakJudgement.leastSquaresSlope(x: x, y: y)) - slope) < 1e-9)
    }

    @Test func noSlopeWithoutSpreadInX() {
        #expect(SoakJudgement.leastSquaresSlope(x: [3, 3], y: [1, 2]) == nil)
    }

    @Test func theSummaryLineStatesTheSlopes() {
        var report = SoakReport()
        let flat = SoakSeries("flat", passes: true, rss: { _, _ in 65_000 }, descriptors: { _, _ in 31 }).samples
        report.samples = ["daemon": flat, "router": flat]
        let last = report.summary.split(separator: "\n").last.map(String.init) ?? ""
        #expect(report.succeeded)
        #expect(
            last.hasPrefix("soak passed: daemon RSS +0 kB/h, fds +0.0/h; router RSS +0 kB/h, fds +0.0/h"), "\(last)")
    }

    @Test func aSimulatedRunJudgesTheDaemonAloneAndSaysNothingOfClients() {
        var report = SoakReport()
        let flat = SoakSeries("flat", passes: true, rss: { _, _ in 65_000 }, descriptors: { _, _ in 31 }).samples
        report.samples = ["daemon": flat]
        report.promoted = 80
        report.aborted = 20
        // The local platform's run needs the router's samples too.
        #expect(!report.succeeded)
        #expect(report.judgement.failures == ["router: fewer than 2 samples in the second half, nothing to judge"])
        report.processes = ["daemon"]
        #expect(report.succeeded)
        let lines = report.summary.split(separator: "\n").map(String.init)
        #expect(lines.contains("releases: promoted 80, aborted 20, unsettled 0"), "\(lines)")
        #expect(lines.last?.hasPrefix("soak passed: daemon RSS +0 kB/h, fds +0.0/h (tolerance") == true, "\(lines)")
        // A climb of 100 kB per release (1,000 rollouts' first releases) fails it.
        report.samples = [
            "daemon": SoakSeries(
                "climb", passes: false, rss: { _, releases in 65_000 + 100 * releases }, descriptors: { _, _ in 25 }
            ).samples
        ]
        #expect(!report.succeeded)
        #expect(report.judgement.failures.first?.hasPrefix("daemon RSS climbs") == true)
    }
}
