import ArgumentParser
import AviaryHarness
import Foundation

/// `aviary-reliability chaos|soak`: the drivers behind scripts/chaos and scripts/soak.
@main
struct Reliability: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aviary-reliability",
        abstract: "Prove that Aviary loses nothing under kill -9 (chaos) and does not grow over time (soak).",
        subcommands: [ChaosCommand.self, SoakCommand.self])
}

/// The `aviary` binary beside this one, or --aviary.
func aviaryBinary(_ given: String?) throws -> String {
    if let given { return given }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let beside = (me as NSString).deletingLastPathComponent + "/aviary"
    guard FileManager.default.isExecutableFile(atPath: beside) else {
        throw ValidationError(
            "no aviary binary at \(beside); build it (swift build --product aviary) or pass --aviary PATH")
    }
    return beside
}

let printLine: @Sendable (String) -> Void = { text in FileHandle.standardOutput.write(Data(text.utf8)) }

struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Releases of the sample app under traffic while the daemon and the router are killed with SIGKILL.",
        discussion: """
            Starts aviary serve and Prometheus on free loopback ports in a temporary directory, creates \
            up to --apps rollouts of the sample app (2 pods, steps 20% / analysis / 50% / analysis), \
            sends steady traffic to each all-traffic Service and releases --rollouts images round by \
            round (about 30% of them bad- images, which fail 20% of requests), chosen by --seed. Each \
            round kills the daemon with SIGKILL at chosen moments (while scaling, mid-analysis, right \
            after a status write) and restarts it; at least one round kills the router. Every release \
            must end right: good ones Healthy on the new image, bad ones aborted with the old image \
            serving all traffic. Ends with `lost: L, unconverged: U, client errors outside bad \
            canaries: E` and exits 1 unless all three (and orphaned processes) are 0.

            Example: scripts/chaos --rollouts 20 --kills 20 --seed 1
            """)

    @Option(help: "Releases in all.") var rollouts = 20
    @Option(help: "SIGKILLs of the daemon.") var kills = 20
    @Option(help: "Seed for the releases, the kill moments and the downtimes.") var seed: UInt64 = 1
    @Option(help: "Rollouts running side by side.") var apps = 4
    @Option(help: "Requests per second to each rollout's all-traffic Service.") var rate = 20
    @Option(help: "The aviary binary (default: beside this one).") var aviary: String?

    func validate() throws {
        if rollouts < 1 { throw ValidationError("--rollouts \(rollouts): give at least 1") }
        if kills < 0 { throw ValidationError("--kills \(kills): give 0 or more") }
        if apps < 1 { throw ValidationError("--apps \(apps): give at least 1") }
        if rate < 1 || rate > 1000 { throw ValidationError("--rate \(rate): give 1 to 1000 requests per second") }
    }

    func run() async throws {
        var options = ChaosOptions(aviaryExecutable: try aviaryBinary(aviary))
        options.rollouts = rollouts
        options.kills = kills
        options.seed = seed
        options.apps = apps
        options.requestsPerSecond = rate
        let report: ChaosReport
        do {
            report = try await runCancellableBySignals { [options] in try await Chaos.run(options, write: printLine) }
        } catch {
            FileHandle.standardError.write(Data("aviary-reliability chaos: \(error)\n".utf8))
            throw ExitCode(2)
        }
        printLine(report.summary + "\n")
        if !report.succeeded { throw ExitCode(1) }
    }
}

struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract:
            "Releases in a loop under 200 requests/s, watching the daemon's and the router's RSS and descriptors.",
        discussion: """
            Starts aviary serve and Prometheus in a temporary directory, one rollout of the sample app, \
            --rate requests per second to its all-traffic Service, and releases good images (every \
            fifth a bad- one) one after another for --minutes. Samples VmRSS and the number of open \
            descriptors of the daemon and the router at the start, every minute and at the end, each \
            with the traffic paused until the descriptor counts hold still for 3 s (at most 60 s), so \
            that connections in flight do not count. The first half of the run is warm-up; over the \
            second half it fits a least-squares line to each series and reports its slope per hour \
            and per release. Exits 1 when a slope is above its tolerance and the fitted line rises \
            more than a one-off step would (RSS: 256 kB/h and 256 kB; descriptors: 6/h and 3), a \
            release did not settle within 300 s, or a client saw an error outside the bad canaries.

            With --platform simulated it runs aviary serve --platform simulated instead: no pods, no \
            router, no Prometheus and no client traffic, and --rollouts rollouts (default 1000) \
            released round-robin, 100 at a time, each release with an analysis whose job exits 0 (1 \
            for every fifth, which aborts it). What each rollout leaves behind per release is then \
            multiplied by their number, so a slow leak per rollout shows within minutes; only the \
            daemon is sampled and judged.

            Examples: scripts/soak --minutes 120
                      scripts/soak --platform simulated --rollouts 1000 --minutes 30
            """)

    @Option(help: "Minutes to release for, the warm-up minute included.") var minutes = 30.0
    @Option(help: "Requests per second to the all-traffic Service (local platform; default 200).") var rate: Int?
    @Option(help: "Where the releases run: local (one rollout under traffic) or simulated (many rollouts).")
    var platform = SoakPlatform.local
    @Option(help: "Rollouts released round-robin (simulated platform; default 1000).") var rollouts: Int?
    @Option(help: "The aviary binary (default: beside this one).") var aviary: String?

    func validate() throws {
        if minutes < 2 { throw ValidationError("--minutes \(minutes): give at least 2 (one is the warm-up)") }
        if let rate, rate < 1 || rate > 2000 {
            throw ValidationError("--rate \(rate): give 1 to 2000 requests per second")
        }
        if let rollouts, rollouts < 1 || rollouts > 20000 {
            throw ValidationError("--rollouts \(rollouts): give 1 to 20000 rollouts")
        }
        switch platform {
        case .local where rollouts != nil:
            throw ValidationError(
                "--rollouts needs --platform simulated: the local platform's soak releases one rollout of real pods")
        case .simulated where rate != nil:
            throw ValidationError(
                "--rate needs --platform local: the simulated platform's soak sends no client traffic")
        default: break
        }
    }

    func run() async throws {
        var options = SoakOptions(aviaryExecutable: try aviaryBinary(aviary))
        options.minutes = minutes
        options.platform = platform
        if let rate { options.requestsPerSecond = rate }
        if let rollouts { options.rollouts = rollouts }
        let report: SoakReport
        do {
            report = try await runCancellableBySignals { [options] in try await Soak.run(options, write: printLine) }
        } catch {
            FileHandle.standardError.write(Data("aviary-reliability soak: \(error)\n".utf8))
            throw ExitCode(2)
        }
        printLine(report.summary + "\n")
        if !report.succeeded { throw ExitCode(1) }
    }
}

extension SoakPlatform: ExpressibleByArgument {}
