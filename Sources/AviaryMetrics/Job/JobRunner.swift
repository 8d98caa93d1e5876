import Foundation
import Subprocess

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

/// Runs jobs as child processes (swift-subprocess).
public enum JobRunner {
    /// Bytes of output kept for the measurement message.
    public static let outputTailBytes = 2048
    /// Time between SIGTERM and SIGKILL for a job that overran its timeout.
    static let killGrace: Duration = .seconds(2)

    /// Runs the job to completion, its timeout, or the cancellation of the calling task,
    /// whichever comes first.
    ///
    /// The job runs in a process group of its own, like the pod of a Kubernetes Job: on timeout
    /// the group gets SIGTERM, then SIGKILL; when the job's main process exits, or the caller
    /// gives up, whatever it left running in the group is killed.
    public static func run(_ job: JobCommand) async throws(JobStartError) -> JobOutcome {
        guard let program = job.arguments.first, !program.isEmpty else {
            throw JobStartError(description: "job has no command: set spec.template.spec.containers[0].command")
        }
        guard let executable = resolve(program) else {
            throw JobStartError(description: "job command \"\(program)\" was not found in PATH")
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        // The caller gave up on the job (run terminated, measurement bound reached): end the group now.
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .zero)]
        let result: ExecutionResult<(tail: [UInt8], timedOut: Bool), SequenceOutput, CombinedErrorOutput>
        do {
            result = try await Subprocess.run(
                .path(.init(executable)),
                arguments: Arguments(
                    executablePathOverride: program, remainingValues: Array(job.arguments.dropFirst())),
                // Aviary's own environment with the container's `env` over it. (The raw-bytes form
                // `.custom([[UInt8]])` wants each entry NUL-terminated: without the terminator the
                // job read past its variables' values, `hello` came out as `hellotes.crt`.)
                environment: .inherit.updating(
                    Dictionary(uniqueKeysWithValues: job.environment.map { (Environment.Key(stringLiteral: $0), $1) })
                ),
                platformOptions: options, input: .none, output: .sequence, error: .combinedWithOutput
            ) { execution in
                try await watch(execution, timeout: job.timeout)
            }
        } catch {
            // Cancelled: the teardown sequence has killed the group.
            if Task.isCancelled { return JobOutcome(exitCode: nil, signal: SIGKILL, timedOut: false, outputTail: "") }
            let reason = (error as? SubprocessError)?.underlyingError.map { "\($0)" } ?? "\(error)"
            throw JobStartError(description: "job command \"\(program)\" could not be started: \(reason)")
        }
        let (tail, timedOut) = result.closureResult
        var outcome = JobOutcome(
            exitCode: nil, signal: nil, timedOut: timedOut, outputTail: String(decoding: tail, as: UTF8.self))
        switch result.terminationStatus {
        case .exited(let code): outcome.exitCode = code
        case .signaled(let signal): outcome.signal = signal
        }
        return outcome
    }

    /// Keeps the tail of the job's output until its main process exits, or stops the group
    /// at the timeout (SIGTERM, then SIGKILL after `killGrace`); then kills whatever the job left
    /// running in its group, which also ends the output. Returns the tail and whether it timed out.
    private static func watch(
        _ execution: Execution<NoInput, SequenceOutput, CombinedErrorOutput>, timeout: Duration
    ) async throws -> (tail: [UInt8], timedOut: Bool) {
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask {
                var tail: [UInt8] = []
                for try await buffer in execution.standardOutput {
                    buffer.withUnsafeBytes { tail.append(contentsOf: $0) }
                    if tail.count > outputTailBytes { tail.removeFirst(tail.count - outputTailBytes) }
                }
                return tail
            }
            let deadline = ContinuousClock.now + timeout
            // A teardown ends as soon as the main process exits; signal 0 sends nothing, so its
            // first step only waits for that up to the timeout.
            await execution.teardown(using: [
                .send(signal: Signal(rawValue: 0), toProcessGroup: true, allowedDurationToNextStep: timeout),
                .send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: killGrace),
            ])
            let timedOut = ContinuousClock.now >= deadline
            // The pod is over: end what the job left running.
            try? execution.send(signal: .kill, toProcessGroup: true)
            return (try await group.next() ?? [], timedOut)
        }
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
