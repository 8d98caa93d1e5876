import Foundation

/// One sample of a process during a soak: when it was taken, how many releases had finished by
/// then, and the process's resident memory and open descriptors.
public struct SoakSample: Sendable, Equatable {
    /// Minutes since the soak started releasing.
    public var minute: Double
    /// Releases settled (promoted, aborted or given up on) before the sample.
    public var releases: Int
    /// VmRSS in kB.
    public var residentKilobytes: Int
    /// Open file descriptors.
    public var descriptors: Int

    /// Creates a sample.
    public init(minute: Double, releases: Int, residentKilobytes: Int, descriptors: Int) {
        self.minute = minute
        self.releases = releases
        self.residentKilobytes = residentKilobytes
        self.descriptors = descriptors
    }
}

/// How far one resource may climb over the judged window before the soak fails. Both limits
/// must be passed to fail: the slope, so that a long run catches a slow leak, and the rise of
/// the fitted line over the window, so that a one-off step (a pooled connection opened once, a
/// cache filling to its cap) does not fail a short run.
///
/// A step of height h in the middle of the window is the worst case for a step: the least-squares
/// line over it rises 1.5 h (its slope is 1.5 h / T for a window of length T). A leak of one
/// descriptor per release rises by the number of releases in the window (28 in the second half
/// of a 20-minute soak).
public struct TrendTolerance: Sendable, Equatable {
    /// The highest slope allowed, in units (kB, descriptors) per hour.
    public var perHour: Double
    /// The highest rise of the fitted line over the window, in the same units.
    public var rise: Double

    /// Creates a tolerance.
    public init(perHour: Double, rise: Double) {
        self.perHour = perHour
        self.rise = rise
    }

    /// RSS: 256 kB an hour (43 MB over a week of steady releases) and 256 kB over the window. A
    /// 20-minute soak (a 10-minute window) therefore fails only above about 1.5 MB an hour; the
    /// 120-minute soak (a 60-minute window) resolves 256 kB an hour.
    public static let residentKilobytes = TrendTolerance(perHour: 256, rise: 256)
    /// Descriptors: 6 an hour and a fitted rise of 3, which a one-off step of 1 or 2 stays under
    /// (1.5 and 3) and one leaked descriptor per release does not.
    public static let descriptors = TrendTolerance(perHour: 6, rise: 3)
}

/// The least-squares trend of one resource over the judged window.
public struct ResourceTrend: Sendable, Equatable {
    /// Slope against time, units per hour.
    public var perHour: Double
    /// Slope against finished releases, units per release; nil when no release finished in the window.
    public var perRelease: Double?
    /// The fitted line's rise over the window (`perHour` times the window's length).
    public var rise: Double

    /// Creates a trend.
    public init(perHour: Double, perRelease: Double?, rise: Double) {
        self.perHour = perHour
        self.perRelease = perRelease
        self.rise = rise
    }

    /// Whether the trend passes both limits of `tolerance` upwards (a falling trend never does).
    public func exceeds(_ tolerance: TrendTolerance) -> Bool {
        perHour > tolerance.perHour && rise > tolerance.rise
    }
}

/// The trends of one process's RSS and descriptors.
public struct ProcessTrend: Sendable, Equatable {
    /// RSS, in kB.
    public var residentKilobytes: ResourceTrend
    /// Open descriptors.
    public var descriptors: ResourceTrend
    /// The first and last samples of the window.
    public var first: SoakSample
    /// The last sample of the window.
    public var last: SoakSample
}

/// Whether a soak passed: the trends of each process over the second half of the run (the first
/// half is warm-up: caches fill, pools open, the allocator reaches its working size), every
/// release settled and no client error outside the bad canaries.
public struct SoakJudgement: Sendable, Equatable {
    /// The trend of each process that had enough samples, by name.
    public var trends: [String: ProcessTrend]
    /// Why the soak failed; empty when it passed.
    public var failures: [String]

    /// Whether the soak passed.
    public var passed: Bool { failures.isEmpty }

    /// Judges a soak from each process's samples (in the order taken), the releases that did not
    /// settle and the client errors outside bad canaries. A process with fewer than 2 samples in
    /// the second half cannot be judged, which fails the soak.
    ///
    /// Example: daemon samples every minute of a 20-minute run flat at 65,000 kB with 30
    /// descriptors until minute 5 and 31 after: the window is minutes 10 to 20, where both are
    /// flat, so the slopes are 0 and the soak passes; 31 + n descriptors after n releases
    /// instead gives 1 descriptor per release, about 170 an hour, and fails.
    public static func judge(
        samples: [String: [SoakSample]], unsettled: Int, clientErrors: Int,
        rssTolerance: TrendTolerance = .residentKilobytes, descriptorTolerance: TrendTolerance = .descriptors
    ) -> SoakJudgement {
        var trends: [String: ProcessTrend] = [:]
        var failures: [String] = []
        for (process, series) in samples.sorted(by: { $0.key < $1.key }) {
            guard let trend = Self.trend(of: series) else {
                failures.append("\(process): fewer than 2 samples in the second half, nothing to judge")
                continue
            }
            trends[process] = trend
            if trend.residentKilobytes.exceeds(rssTolerance) {
                failures.append(
                    "\(process) RSS climbs \(format(trend.residentKilobytes.perHour)) kB/h "
                        + "(\(format(trend.residentKilobytes.rise)) kB over the second half; tolerance "
                        + "\(format(rssTolerance.perHour)) kB/h and \(format(rssTolerance.rise)) kB)")
            }
            if trend.descriptors.exceeds(descriptorTolerance) {
                failures.append(
                    "\(process) descriptors climb \(format(trend.descriptors.perHour))/h "
                        + "(\(format(trend.descriptors.rise)) over the second half; tolerance "
                        + "\(format(descriptorTolerance.perHour))/h and \(format(descriptorTolerance.rise)))")
            }
        }
        if unsettled > 0 { failures.append("\(unsettled) release(s) did not settle") }
        if clientErrors > 0 { failures.append("\(clientErrors) client error(s) outside bad canaries") }
        return SoakJudgement(trends: trends, failures: failures)
    }

    /// The trends over the second half of `series`: the samples taken at or after the midpoint
    /// between the first and the last sample's time. Nil with fewer than 2 such samples or no
    /// time between them.
    static func trend(of series: [SoakSample]) -> ProcessTrend? {
        guard let start = series.first?.minute, let end = series.last?.minute else { return nil }
        let middle = (start + end) / 2
        let window = series.filter { $0.minute >= middle }
        guard window.count >= 2, let first = window.first, let last = window.last else { return nil }
        let hours = window.map { $0.minute / 60 }
        let releases = window.map { Double($0.releases) }
        func resourceTrend(_ values: [Double]) -> ResourceTrend? {
            guard let perHour = leastSquaresSlope(x: hours, y: values) else { return nil }
            return ResourceTrend(
                perHour: perHour, perRelease: leastSquaresSlope(x: releases, y: values),
                rise: perHour * (last.minute - first.minute) / 60)
        }
        guard let rss = resourceTrend(window.map { Double($0.residentKilobytes) }),
            let descriptors = resourceTrend(window.map { Double($0.descriptors) })
        else { return nil }
        return ProcessTrend(residentKilobytes: rss, descriptors: descriptors, first: first, last: last)
    }

    /// The slope of the least-squares line through the points: Σ(x−x̄)(y−ȳ) / Σ(x−x̄)². Nil when
    /// all x are equal (no line to fit). Example: (0, 1), (1, 3), (2, 5) gives 2.
    static func leastSquaresSlope(x: [Double], y: [Double]) -> Double? {
        precondition(x.count == y.count, "one y per x")
        guard !x.isEmpty else { return nil }
        let meanX = x.reduce(0, +) / Double(x.count)
        let meanY = y.reduce(0, +) / Double(y.count)
        var covariance = 0.0
        var variance = 0.0
        for (xi, yi) in zip(x, y) {
            covariance += (xi - meanX) * (yi - meanY)
            variance += (xi - meanX) * (xi - meanX)
        }
        return variance > 0 ? covariance / variance : nil
    }

    /// One line per process: its trends, as the soak's summary states them.
    public var trendLines: [String] {
        trends.sorted { $0.key < $1.key }.map { process, trend in
            let rss = trend.residentKilobytes
            let fds = trend.descriptors
            return process.padding(toLength: 8, withPad: " ", startingAt: 0)
                + "RSS \(trend.first.residentKilobytes) -> \(trend.last.residentKilobytes) kB, "
                + "\(signed(rss.perHour)) kB/h, \(rss.perRelease.map { signed($0) } ?? "-") kB/release; "
                + "fds \(trend.first.descriptors) -> \(trend.last.descriptors), \(signed(fds.perHour))/h, "
                + "\(fds.perRelease.map { signed($0, digits: 2) } ?? "-")/release "
                + "(minutes \(Self.format(trend.first.minute)) to \(Self.format(trend.last.minute)), "
                + "releases \(trend.first.releases) to \(trend.last.releases))"
        }
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    private func signed(_ value: Double, digits: Int = 1) -> String {
        String(format: "%+.\(digits)f", value)
    }
}
