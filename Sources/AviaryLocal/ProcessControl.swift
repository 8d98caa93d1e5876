import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a process could not be started.
public struct SpawnError: Error, CustomStringConvertible, Equatable {
    /// The command that was to run.
    public var command: String
    /// What `posix_spawn` said.
    public var reason: String

    public var description: String {
        "cannot start \(command): \(reason); check the container's command (it is looked up on PATH)"
    }
}

/// Starting, watching and stopping processes with plain POSIX calls, so that the processes run in
/// their own process group and outlive the daemon (the data plane outlives the control plane).
public enum ProcessControl {
    /// Starts `arguments` with exactly `environment`, stdin from /dev/null and stdout/stderr
    /// appended to `logPath`, in a new process group, in `workingDirectory` (the container's
    /// `workingDir`) or else the daemon's own.
    public static func spawn(
        arguments: [String], environment: [String: String], logPath: String, workingDirectory: String? = nil
    ) throws(SpawnError)
        -> ProcessIdentity
    {
        guard let command = arguments.first, !command.isEmpty else {
            throw SpawnError(command: "(none)", reason: "the container has no command")
        }
        if let workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory),
                isDirectory.boolValue
            else {
                throw SpawnError(
                    command: command,
                    reason: "its workingDir \(workingDirectory) is not a directory on this host; create it or fix "
                        + "the container's workingDir")
            }
            guard changeDirectoryAction != nil else {
                throw SpawnError(
                    command: command, reason: "this C library cannot start a process in a workingDir (glibc 2.29+ can)")
            }
        }
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        if let workingDirectory, let changeDirectory = changeDirectoryAction {
            _ = workingDirectory.withCString { changeDirectory(&fileActions, $0) }
        }
        // Nothing else of the daemon's leaks into a pod: an inherited listening socket would keep
        // the API's port taken after the daemon died, and answer nobody.
        if let closeFrom = closeFromAction {
            _ = closeFrom(&fileActions, 3)
        } else {
            markInheritedDescriptorsCloseOnExec()
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A process group of its own: a signal to the daemon's group (Ctrl-C) does not reach pods.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command, &fileActions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(command: command, reason: String(cString: strerror(result)))
        }
        return ProcessIdentity(pid: pid, startTicks: startTicks(of: pid) ?? 0)
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module
    /// does not export, looked up once.
    private static let closeFromAction: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), looked up once like `addclosefrom`.
    private static let changeDirectoryAction: ChangeDirectory? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        else { return nil }
        return unsafeBitCast(symbol, to: ChangeDirectory.self)
    }()

    /// Without `addclosefrom`: every open descriptor above 2 gets FD_CLOEXEC.
    private static func markInheritedDescriptorsCloseOnExec() {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in descriptors.compactMap(Int32.init) where descriptor > 2 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Field 22 of `/proc/<pid>/stat` (start time in clock ticks after boot), nil if there is no such process.
    public static func startTicks(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let closing = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces) start with field 3, the state.
        let fields = stat[stat.index(after: closing)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// A live process whose standard output is a file: its PID, its process group and the file.
    public struct OutputWriter: Equatable, Sendable {
        /// The process.
        public var pid: pid_t
        /// Its process group (a spawned pod's or router's is its first process's PID).
        public var group: pid_t
        /// Where its standard output goes.
        public var path: String
    }

    /// The live processes whose standard output is a file directly in `directory` (pods, the
    /// router and Prometheus write theirs to the state directory's logs). A process an earlier
    /// daemon started is found here even when no saved state names it.
    public static func outputWriters(in directory: String) -> [OutputWriter] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.compactMap { pid in
            guard pid != getpid(),
                let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1"),
                path.hasPrefix(prefix), !path.dropFirst(prefix.count).contains("/"),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let closing = stat.lastIndex(of: ")")
            else { return nil }
            // After the command name: state, parent, process group.
            let fields = stat[stat.index(after: closing)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", let group = pid_t(fields[2]) else { return nil }
            return OutputWriter(pid: pid, group: group, path: path)
        }
    }

    /// Stops the process groups of the writers to `path` other than `keeping`'s: what an earlier
    /// daemon started and was killed before it recorded (SIGTERM, SIGKILL after `grace` seconds).
    /// Returns the groups it stopped.
    @discardableResult
    public static func stopUnrecordedWriters(
        to path: String, in directory: String, keeping: ProcessIdentity?, grace: Double = 2
    ) async -> [pid_t] {
        let groups = Set(outputWriters(in: directory).filter { $0.path == path && $0.group != keeping?.pid }.map(\.group))
        for group in groups {
            await stopGroup(group, grace: grace)
        }
        return groups.sorted()
    }

    /// Stops a process group whose first process may already be gone (then only SIGKILL reaches
    /// the rest, since its identity cannot be checked).
    static func stopGroup(_ group: pid_t, grace: Double) async {
        if let ticks = startTicks(of: group) {
            await stop(ProcessIdentity(pid: group, startTicks: ticks), grace: grace)
        }
        kill(-group, SIGKILL)
    }

    /// The process state letter of `/proc/<pid>/stat` (`R`, `S`, `Z`, ...).
    static func state(of pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let closing = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: closing)...].split(separator: " ").first?.first
    }

    /// What became of a process: still running, or how it ended.
    public enum Liveness: Equatable, Sendable {
        /// It runs.
        case running
        /// It is gone; the text says how it ended when known (`exit 1`, `signal 9`).
        case exited(String)
    }

    /// Checks a process without blocking. Reaps it when it is our child; an adopted process
    /// (started by an earlier daemon) counts as gone when its PID vanished, is a zombie, or now
    /// belongs to another process.
    public static func liveness(of identity: ProcessIdentity) -> Liveness {
        var status: Int32 = 0
        let waited = waitpid(identity.pid, &status, WNOHANG)
        if waited == identity.pid {
            if status & 0x7f == 0 { return .exited("exit \((status >> 8) & 0xff)") }
            return .exited("signal \(status & 0x7f)")
        }
        guard startTicks(of: identity.pid) == identity.startTicks else { return .exited("gone") }
        if state(of: identity.pid) == "Z" { return .exited("exited") }
        return .running
    }

    /// Sends `signal` to the process's group (the pod's process and anything it started).
    public static func signal(_ identity: ProcessIdentity, _ signal: Int32) {
        guard startTicks(of: identity.pid) == identity.startTicks else { return }
        if kill(-identity.pid, signal) != 0 {
            kill(identity.pid, signal)
        }
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace` seconds; waits until it is gone.
    public static func stop(_ identity: ProcessIdentity, grace: Double = 5) async {
        signal(identity, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while case .running = liveness(of: identity) {
            if Date() > deadline {
                signal(identity, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Finds free TCP ports on loopback for listeners that bind them a moment later.
///
/// A port is chosen below the kernel's ephemeral range (`ip_local_port_range`), never inside it: a
/// port the kernel picked for a port-0 bind is also one it hands out to outgoing connections, and a
/// pooled connection that took it between the choice and the bind (to the daemon, to Prometheus)
/// held it for as long as it lived, so the pod that was to listen there crash-looped on
/// "address in use" (issue 18, a chaos run's pod that never became ready).
public enum PortAllocator {
    /// The kernel's ephemeral range when `/proc` cannot say: Linux's default.
    public static let defaultEphemeralRange = 32768...60999

    /// The range the kernel hands out to outgoing connections, read from
    /// `/proc/sys/net/ipv4/ip_local_port_range`.
    public static func ephemeralRange() -> ClosedRange<Int> {
        let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        return text.flatMap(parseEphemeralRange) ?? defaultEphemeralRange
    }

    /// `32768\t60999` → 32768...60999; nil for anything else.
    public static func parseEphemeralRange(_ text: String) -> ClosedRange<Int>? {
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, 1...65535 ~= bounds[0], bounds[0] <= bounds[1], bounds[1] <= 65535 else { return nil }
        return bounds[0]...bounds[1]
    }

    /// Where listeners' ports come from: the 1,000 or more ports from 10000 up to the ephemeral
    /// range, else those above it; nil when neither side has 1,000 (then the kernel chooses).
    public static func listenerRange(ephemeral: ClosedRange<Int>) -> ClosedRange<Int>? {
        if ephemeral.lowerBound - 10000 >= 1000 { return 10000...(ephemeral.lowerBound - 1) }
        if 65535 - ephemeral.upperBound >= 1000 { return (ephemeral.upperBound + 1)...65535 }
        return nil
    }

    /// The ports handed out lately, not handed out again until 512 others were: a process may not
    /// have bound its port yet.
    private static let recent = Mutex<[Int]>([])

    /// A port nobody listens on now, outside the ephemeral range where there is room; otherwise one
    /// the kernel chooses (bind to port 0, read it, close).
    public static func freePort() -> Int? {
        if let range = listenerRange(ephemeral: ephemeralRange()) {
            for _ in 0..<64 {
                let port = Int.random(in: range)
                let taken = recent.withLock { recent in
                    if recent.contains(port) { return true }
                    recent.append(port)
                    if recent.count > 512 { recent.removeFirst() }
                    return false
                }
                if !taken, bindLoopback(port: port) != nil { return port }
            }
        }
        return bindLoopback(port: 0)
    }

    /// Binds a socket to 127.0.0.1:`port`, closes it, and returns the port it had; nil if it could not bind.
    public static func bindLoopback(port: Int) -> Int? {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { return nil }
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(socketDescriptor, $0, &length)
            }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
