import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A job to run as a local process: the first container's `command` + `args`, run directly
/// (no shell unless the command is one, such as `["sh", "-c", "..."]`).
public struct JobCommand: Sendable, Equatable {
    /// The program and its arguments; a program without `/` is looked up in `PATH`.
    public var arguments: [String]
    /// Extra environment variables (the container's `env`), on top of Aviary's own environment.
    public var environment: [String: String]
    /// How long the job may run before it is stopped and counted as failed.
    public var timeout: Duration

    /// A job running `arguments`.
    public init(arguments: [String], environment: [String: String] = [:], timeout: Duration) {
        self.arguments = arguments
        self.environment = environment
        self.timeout = timeout
    }
}

/// How a job ended.
public struct JobOutcome: Sendable, Equatable {
    /// The exit status when the process exited, nil when a signal ended it.
    public var exitCode: Int32?
    /// The signal that ended the process, nil when it exited.
    public var signal: Int32?
    /// Whether Aviary stopped it because it ran past its timeout.
    public var timedOut: Bool
    /// The last bytes of its standard output and error, interleaved as written.
    public var outputTail: String

    /// Whether the job succeeded: exit status 0 within the timeout.
    public var succeeded: Bool { exitCode == 0 && !timedOut }

    /// `exit code 3`, `killed by signal 9`, `timed out after 5s`, followed by the output tail.
    public var summary: String {
        let how: String
        if timedOut {
            how = "timed out and was stopped"
        } else if let exitCode {
            how = "exit code \(exitCode)"
        } else {
            how = "killed by signal \(signal ?? 0)"
        }
        let tail = outputTail.trimmingCharacters(in: .whitespacesAndNewlines)
        return tail.isEmpty ? how : "\(how): \(tail)"
    }
}

/// Why a job could not be started.
public struct JobStartError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message that goes into the measurement.
    public var description: String
}

/// Runs jobs as child processes.
public enum JobRunner {
    /// Bytes of output kept for the measurement message.
    public static let outputTailBytes = 2048
    /// Time between SIGTERM and SIGKILL for a job that overran its timeout.
    static let killGrace: Duration = .seconds(2)

    private enum Event: Sendable {
        case output(Data)
        case endOfOutput
        case exited(status: Int32, bySignal: Bool)
        case deadline
        case killNow
        case outputGraceOver
    }

    /// Runs the job to completion, its timeout, or the cancellation of the calling task,
    /// whichever comes first; a cancelled or overrunning job gets SIGTERM, then SIGKILL.
    public static func run(_ job: JobCommand) async throws(JobStartError) -> JobOutcome {
        guard let program = job.arguments.first, !program.isEmpty else {
            throw JobStartError(description: "job has no command: set spec.template.spec.containers[0].command")
        }
        guard let executable = resolve(program) else {
            throw JobStartError(description: "job command \"\(program)\" was not found in PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(job.arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(job.environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice

        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        process.terminationHandler = { finished in
            sink.yield(
                .exited(status: finished.terminationStatus, bySignal: finished.terminationReason == .uncaughtSignal))
        }
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                sink.yield(.endOfOutput)
            } else {
                sink.yield(.output(data))
            }
        }
        do {
            try process.run()
        } catch {
            pipe.fileHandleForReading.readabilityHandler = nil
            throw JobStartError(description: "job command \"\(program)\" could not be started: \(error)")
        }
        // Our copy of the write end must close, or the read end never sees end of file.
        try? pipe.fileHandleForWriting.close()
        let pid = process.processIdentifier

        let timer = Task {
            try await Task.sleep(for: job.timeout)
            sink.yield(.deadline)
        }
        defer { timer.cancel() }

        var tail = Data()
        var exit: (status: Int32, bySignal: Bool)?
        var outputEnded = false
        var timedOut = false
        await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .output(let data):
                    tail.append(data)
                    if tail.count > outputTailBytes { tail = tail.suffix(outputTailBytes) }
                case .endOfOutput:
                    outputEnded = true
                case .exited(let status, let bySignal):
                    exit = (status, bySignal)
                    // A grandchild may hold the pipe open; do not wait for it forever.
                    Task {
                        try? await Task.sleep(for: .milliseconds(500))
                        sink.yield(.outputGraceOver)
                    }
                case .deadline:
                    timedOut = true
                    kill(pid, SIGTERM)
                    Task {
                        try? await Task.sleep(for: killGrace)
                        sink.yield(.killNow)
                    }
                case .killNow:
                    // Only while it has not exited: after the exit the pid may belong to another process.
                    if exit == nil { kill(pid, SIGKILL) }
                case .outputGraceOver:
                    outputEnded = true
                }
                if exit != nil && outputEnded { break }
            }
        } onCancel: {
            // The caller gave up on the job (run terminated or measurement timeout): end it now.
            kill(pid, SIGKILL)
        }
        pipe.fileHandleForReading.readabilityHandler = nil
        sink.finish()
        let status = exit ?? (status: -1, bySignal: true)
        return JobOutcome(
            exitCode: status.bySignal ? nil : status.status, signal: status.bySignal ? status.status : nil,
            timedOut: timedOut, outputTail: String(decoding: tail, as: UTF8.self))
    }

    /// The absolute path of `program`: itself when it contains `/`, else the first match in `PATH`.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
