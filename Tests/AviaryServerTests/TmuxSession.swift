import AviaryTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real terminal for tests: a tmux server on its own socket with one detached session of a
/// fixed size running a command. `close()` kills the server and removes its socket.
final class TmuxSession {
    static let tmux = "/usr/bin/tmux"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: tmux) }

    /// The server's socket: a path of the test's own, so that nothing else's cleanup of
    /// /tmp/tmux-UID can take it away while the test runs.
    let socket = NSTemporaryDirectory() + "aviary-tmux-\(UUID().uuidString.prefix(8)).sock"
    let name = "test"
    /// The server and the pane's process, killed by `close()` if `kill-server` did not stop them.
    private var pids: [Int32] = []

    /// Starts `command` (run by tmux through `sh -c`) in a `columns` x `rows` pane.
    init(command: String, columns: Int, rows: Int) throws {
        // The tmux server outlives `new-session` and inherits every open descriptor; Foundation's
        // Process waits for its child's descriptors to close, so bash closes all but /dev/null on
        // 0-2 before running tmux, and is spawned and waited for by PID.
        let closeInherited =
            #"for fd in /proc/$$/fd/*; do n=${fd##*/}; ((n > 2)) && eval "exec $n>&-"; done 2>/dev/null"#
        let quoted = "'" + command.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        let arguments = [
            "/bin/bash", "-c",
            "\(closeInherited); exec \(Self.tmux) -S \(socket) new-session -d -s \(name) -x \(columns) -y \(rows) "
                + quoted,
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // A test runs on a thread that blocks most signals, and a spawned process inherits the
        // mask: the tmux server and the program in its pane would then never see SIGHUP or
        // SIGINT (Ctrl-C), and `kill-server` would hang on a pane that does not exit.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var status: Int32 = 0
        guard posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) == 0,
            waitpid(pid, &status, 0) == pid, status == 0
        else {
            close()
            throw TmuxFailure(description: "tmux new-session failed (wait status \(status))")
        }
        let shown =
            (try? runCommand([Self.tmux, "-S", socket, "display-message", "-p", "-t", name, "#{pid} #{pane_pid}"]))
        pids = (shown?.output ?? "").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// The pane's visible text; with `history`, the lines scrolled off the top too.
    func capture(history: Bool = false) -> String {
        let range = history ? ["-S", "-"] : []
        return (try? runCommand([Self.tmux, "-S", socket, "capture-pane", "-p", "-t", name] + range).output) ?? ""
    }

    /// Whether the session still exists, i.e. the command in its pane has not ended.
    var hasSession: Bool {
        ((try? runCommand([Self.tmux, "-S", socket, "has-session", "-t", name]))?.status ?? 1) == 0
    }

    /// Types `keys` (tmux key names such as `C-c`) into the pane.
    func send(keys: String) throws {
        _ = try runCommand([Self.tmux, "-S", socket, "send-keys", "-t", name, keys])
    }

    /// Kills the tmux server (and with it whatever still runs in the pane) and removes its socket.
    func close() {
        _ = try? runCommand([Self.tmux, "-S", socket, "kill-server"])
        for pid in pids where isRunning(pid) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: socket)
    }

    struct TmuxFailure: Error, CustomStringConvertible {
        var description: String
    }
}
