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
        case output([UInt8])
        case endOfOutput
        case exited(status: Int32, bySignal: Bool)
        case deadline
        case killNow
        case outputGraceOver
    }

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
        let environment = ProcessInfo.processInfo.environment.merging(job.environment) { $1 }
        let (pid, output) = try spawn(
            executable: executable, arguments: job.arguments,
            environment: environment.map { "\($0.key)=\($0.value)" }, program: program)

        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        // Blocking reads and waitpid belong on threads of their own, not on the cooperative pool.
        Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(output, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                sink.yield(.output(Array(buffer[0..<count])))
            }
            close(output)
            sink.yield(.endOfOutput)
        }.start()
        Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            // The wait status layout of Linux: low 7 bits the signal, next byte the exit code.
            let signal = status & 0x7f
            sink.yield(
                signal == 0
                    ? .exited(status: (status >> 8) & 0xff, bySignal: false) : .exited(status: signal, bySignal: true))
        }.start()
        let timer = Task {
            try await Task.sleep(for: job.timeout)
            sink.yield(.deadline)
        }
        defer { timer.cancel() }

        var tail: [UInt8] = []
        var exit: (status: Int32, bySignal: Bool)?
        var outputEnded = false
        var timedOut = false
        await withTaskCancellationHandler {
            for await event in events {
                switch event {
                case .output(let bytes):
                    tail.append(contentsOf: bytes)
                    if tail.count > outputTailBytes { tail.removeFirst(tail.count - outputTailBytes) }
                case .endOfOutput:
                    outputEnded = true
                case .exited(let status, let bySignal):
                    exit = (status, bySignal)
                    // The pod is over: end what the job left running, which also closes the output.
                    kill(-pid, SIGKILL)
                    Task {
                        try? await Task.sleep(for: .milliseconds(500))
                        sink.yield(.outputGraceOver)
                    }
                case .deadline:
                    timedOut = true
                    kill(-pid, SIGTERM)
                    Task {
                        try? await Task.sleep(for: killGrace)
                        sink.yield(.killNow)
                    }
                case .killNow:
                    if exit == nil { kill(-pid, SIGKILL) }
                case .outputGraceOver:
                    outputEnded = true
                }
                if exit != nil && outputEnded { break }
            }
        } onCancel: {
            // The caller gave up on the job (run terminated, measurement bound reached): end it now.
            kill(-pid, SIGKILL)
        }
        sink.finish()
        let status = exit ?? (status: SIGKILL, bySignal: true)
        return JobOutcome(
            exitCode: status.bySignal ? nil : status.status, signal: status.bySignal ? status.status : nil,
            timedOut: timedOut, outputTail: String(decoding: tail, as: UTF8.self))
    }

    /// Starts `executable` in a new process group with stdin from /dev/null and stdout and
    /// stderr into one pipe; returns its pid and the pipe's read end.
    private static func spawn(
        executable: String, arguments: [String], environment: [String], program: String
    ) throws(JobStartError) -> (pid_t, Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw JobStartError(
                description: "job command \"\(program)\" could not be started: no pipe (errno \(errno))")
        }
        // Other jobs started meanwhile must not inherit this pipe (pipe2 is not exported to Swift;
        // a leaked end only delays end-of-output, which the exit grace period bounds).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // Signals Aviary itself ignores or handles start at their defaults in the job.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw JobStartError(
                description: "job command \"\(program)\" could not be started: \(String(cString: strerror(result)))")
        }
        return (pid, fds[0])
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
