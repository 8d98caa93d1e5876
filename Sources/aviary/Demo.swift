import ArgumentParser
import AviaryHarness
import Foundation

/// `aviary demo`: a canary that passes, then one that fails and rolls itself back.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show a canary release promoted and a bad one rolled back, with a real Prometheus.",
        discussion: """
            Starts `aviary serve` and Prometheus (from PATH) on a temporary directory and free \
            loopback ports, applies examples/demo (the sample app, 4 pods; steps setWeight 10, \
            analysis, setWeight 33, analysis; the success-rate template), sends about 50 requests/s \
            to the all-traffic Service, then releases sample-app:v2 (promoted) and \
            sample-app:bad-v3 (20% errors: its first analysis fails and traffic goes back to v2). \
            Prints a summary per release; exits 0 only when release 1 was promoted and release 2 \
            aborted by its analysis. Everything it started is stopped at the end and on Ctrl-C.

            Example:
              aviary demo --fast --no-watch --summary-json summary.json
            """)

    @Flag(help: "Short intervals (Prometheus scrapes every second, analyses every 3 s): under two minutes.")
    var fast = false

    @Flag(help: "Print timestamped lines instead of redrawing a live view (for CI and logs).")
    var noWatch = false

    @Flag(help: "Leave the daemon, pods and Prometheus running at the end and print how to explore them.")
    var keep = false

    @Option(help: "Write the summary as JSON to this file.")
    var summaryJson: String?

    @Option(help: "The directory of the demo's manifests (default: examples/demo of this clone).")
    var manifests: String?

    func run() async throws {
        let executable = Serve.executablePath()
        guard let directory = manifests ?? DemoManifests.locateDirectory(executable: executable) else {
            printError("cannot find examples/demo; run from a clone of Aviary or pass --manifests DIR")
            throw ExitCode.failure
        }
        var options = DemoOptions(manifestsDirectory: directory, aviaryExecutable: executable)
        options.fast = fast
        options.watch = !noWatch
        options.keep = keep
        options.colour = useColour(noColor: false)
        options.screenSize = { terminalSize() }
        if !noWatch {
            // The live view redraws from the top of a clear screen with the cursor hidden.
            FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8))
        }
        defer { if !noWatch { FileHandle.standardOutput.write(Data("\u{1B}[?25h".utf8)) } }
        // Ctrl-C and SIGTERM cancel the demo, which then stops everything it started.
        let summary: DemoSummary
        do {
            summary = try await runCancellableBySignals { [options] in
                try await Demo.run(options) { text in FileHandle.standardOutput.write(Data(text.utf8)) }
            }
        } catch is Interrupted {
            printError("interrupted; stopped everything the demo started")
            throw ExitCode(130)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        print("\n" + summary.table)
        if let summaryJson {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary).write(to: URL(fileURLWithPath: summaryJson))
        }
        guard summary.succeeded else {
            printError("the demo did not end as it should: release 1 promoted, release 2 aborted by its analysis")
            throw ExitCode.failure
        }
    }
}

/// The size of the terminal on standard output, nil when it is not a terminal.
func terminalSize() -> (columns: Int, rows: Int)? {
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
    return (Int(size.ws_col), Int(size.ws_row))
}
