import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A server a test starts, under a small shell watchdog that ends it with SIGKILL once the test
/// process is gone (a killed `swift test`). Servers inherit the test process's blocked signals, so
/// SIGTERM may never reach them: `stop()` kills the server by the pid the watchdog wrote.
public final class WatchedProcess: Sendable {
    /// The file its output goes to.
    public let logPath: String
    private let pidPath: String
    private let process: Process

    /// Starts `arguments` (the executable first) with its output in `directory/name.out`.
    public init(_ arguments: [String], directory: String, name: String, environment: [String: String]? = nil) throws {
        logPath = "\(directory)/\(name).out"
        pidPath = "\(directory)/\(name).pid"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments =
            [
                "-c",
                #"pidfile=$1; shift; "$@" & child=$!; echo $child > "$pidfile"; "#
                    + #"while kill -0 $PPID 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; "#
                    + #"kill -9 $child 2>/dev/null"#,
                name, pidPath,
            ] + arguments
        if let environment { process.environment = environment }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let handle = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// What it printed so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills the server and its watchdog, and waits for the watchdog to exit.
    public func stop() {
        let text = (try? String(contentsOfFile: pidPath, encoding: .utf8)) ?? ""
        if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGKILL) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
