import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `aviary install`: runs Aviary as a host service, or on a cluster.
struct Install: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install Aviary as a host service (systemd) or on a Kubernetes cluster.",
        subcommands: [InstallSystemd.self, InstallKubernetes.self])
}

/// `aviary install systemd`: the unit that runs `aviary serve` under systemd.
struct InstallSystemd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Print (or, with --write, install) a systemd unit that runs aviary serve.",
        discussion: """
            The unit is Type=notify (aviary serve tells systemd it is ready once its API listens), \
            restarts the daemon on failure, and logs to the journal. KillMode=process and \
            --leave-running mean a restart or a stop of the daemon leaves the pods and the router \
            running: the next aviary serve adopts them, as after kill -9, so traffic never stops.

            Examples:
              aviary install systemd
              aviary install systemd --write && systemctl daemon-reload && systemctl enable --now aviary
            """)

    @Option(help: "The aviary binary the unit runs (default: this one).")
    var binary: String?

    @Option(help: "The daemon's state directory.")
    var stateDir = "/var/lib/aviary"

    @Option(help: "The API's address, HOST:PORT.")
    var listen = "127.0.0.1:7480"

    @Option(help: "The unit's file name.")
    var name = "aviary.service"

    @Option(help: "Where --write puts the unit.")
    var unitDirectory = "/etc/systemd/system"

    @Flag(help: "Write the unit into --unit-directory instead of printing it.")
    var write = false

    /// The unit's text.
    var unit: String {
        SystemdUnit(binary: binary ?? Serve.executablePath(), stateDirectory: stateDir, listen: listen).text
    }

    func run() throws {
        guard write else {
            print(unit, terminator: "")
            return
        }
        let path = (unitDirectory as NSString).appendingPathComponent(name)
        do {
            try unit.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError(
                "cannot write \(path): \((error as NSError).localizedDescription); run as root, or give "
                    + "--unit-directory a directory you can write")
        }
        print("wrote \(path); now: systemctl daemon-reload && systemctl enable --now \(name)")
    }
}

/// A systemd service unit for `aviary serve`.
struct SystemdUnit {
    var binary: String
    var stateDirectory: String
    var listen: String

    var text: String {
        """
        [Unit]
        Description=Aviary progressive delivery daemon (aviary serve)
        Wants=network-online.target
        After=network-online.target

        [Service]
        Type=notify
        NotifyAccess=main
        ExecStart=\(binary) serve --state-dir \(stateDirectory) --listen \(listen) --leave-running
        # Pods and the router are processes of their own that must outlive the daemon: only the
        # daemon is signalled on stop and restart, and the next daemon adopts what still runs.
        KillMode=process
        Restart=on-failure
        RestartSec=2
        TimeoutStartSec=120
        StandardOutput=journal
        StandardError=journal

        [Install]
        WantedBy=multi-user.target

        """
    }
}

/// Tells systemd the service's state (`sd_notify(3)`): a datagram to the socket named by
/// `NOTIFY_SOCKET`, which systemd sets for a `Type=notify` unit. Without it, nothing is sent.
enum SystemdNotifier {
    /// Sends `state` (e.g. `READY=1`); returns whether it was sent.
    @discardableResult
    static func notify(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard var path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return false }
        // An address starting with @ is in the abstract namespace: its first byte is NUL.
        let isAbstract = path.hasPrefix("@")
        if isAbstract { path.removeFirst() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = (isAbstract ? [0] : []) + Array(path.utf8)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (isAbstract ? 0 : 1))
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let sent = state.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, text, strlen(text), 0, $0, length)
                }
            }
        }
        return sent >= 0
    }
}
