import Foundation
import Testing

@testable import aviary

#if canImport(Glibc)
    import Glibc
#endif

/// `aviary install systemd` and the daemon's readiness notification.
@Suite struct SystemdTests {
    @Test func systemdAcceptsTheUnit() throws {
        let analyze = try #require(
            ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "systemd-analyze is part of the Debian package systemd")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-unit-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = try InstallSystemd.parse([
            "--write", "--unit-directory", directory.path, "--binary", "/usr/bin/true", "--state-dir", "/srv/aviary",
        ])
        try command.run()
        let unitPath = directory.appendingPathComponent("aviary.service").path
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
        #expect(unit.contains("Type=notify"))
        #expect(unit.contains("KillMode=process"))
        #expect(unit.contains("ExecStart=/usr/bin/true serve --state-dir /srv/aviary --listen 127.0.0.1:7480 --leave-running"))
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: analyze)
        verify.arguments = ["verify", unitPath]
        let output = Pipe()
        verify.standardOutput = output
        verify.standardError = output
        try verify.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        verify.waitUntilExit()
        // What it says of the system's own units (a Debian package's obsolete `syslog` output,
        // say) is not about this one: only the rest must be empty.
        let aboutOthers = #/^/(usr/)?(lib|etc|run)/systemd/system/[^:]+:/#
        let ours = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty && (($0.firstMatch(of: aboutOthers) == nil) || $0.hasPrefix(unitPath))
        }
        #expect(verify.terminationStatus == 0 && ours.isEmpty, "systemd-analyze verify: \(text)")
    }

    @Test(arguments: [false, true])
    func readinessReachesTheNotifySocket(abstract: Bool) throws {
        let name = "aviary-notify-\(UUID().uuidString.prefix(8))"
        let path = abstract ? "@" + name : FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(receiver >= 0)
        defer {
            close(receiver)
            if !abstract { unlink(path) }
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = abstract ? [0] + Array(name.utf8) : Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) }
        }
        try #require(bound == 0, "bind \(path): errno \(errno)")

        #expect(SystemdNotifier.notify("READY=1", environment: ["NOTIFY_SOCKET": path]))
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = recv(receiver, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(received > 0)
        #expect(String(decoding: buffer.prefix(max(received, 0)), as: UTF8.self) == "READY=1")
    }

    @Test func withoutANotifySocketNothingIsSent() {
        #expect(!SystemdNotifier.notify("READY=1", environment: [:]))
    }
}
