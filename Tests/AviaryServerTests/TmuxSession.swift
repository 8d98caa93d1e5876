import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real terminal for tests: a tmux server on its own socket with one detached session of a
/// fixed size running a command. `close()` kills the server and removes its socket.
final class TmuxSession {
    static let tmux = "/usr/bin/tmux"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: tmux) }

    let socket = "aviary-test-\(UUID().uuidString.prefix(8))"
    let name = "test"

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
            "\(closeInherited); exec \(Self.tmux) -L \(socket) new-session -d -s \(name) -x \(columns) -y \(rows) "
                + quoted,
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var status: Int32 = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, argv, environ) == 0, waitpid(pid, &status, 0) == pid,
            status == 0
        else {
            close()
            throw TmuxFailure(description: "tmux new-session failed (wait status \(status))")
        }
    }

    /// The pane's visible text; with `history`, the lines scrolled off the top too.
    func capture(history: Bool = false) -> String {
        let range = history ? ["-S", "-"] : []
        return (try? runCommand([Self.tmux, "-L", socket, "capture-pane", "-p", "-t", name] + range).output) ?? ""
    }

    /// Types `keys` (tmux key names such as `C-c`) into the pane.
    func send(keys: String) throws {
        _ = try runCommand([Self.tmux, "-L", socket, "send-keys", "-t", name, keys])
    }

    /// Kills the tmux server (and with it whatever still runs in the pane) and removes its socket.
    func close() {
        _ = try? runCommand([Self.tmux, "-L", socket, "kill-server"])
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }

    struct TmuxFailure: Error, CustomStringConvertible {
        var description: String
    }
}
