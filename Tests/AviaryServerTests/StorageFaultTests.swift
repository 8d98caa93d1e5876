import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// `aviary serve` on a state directory that refuses writes, is full, or holds a damaged database.
/// A small tmpfs makes the read-only mount and the full disk real (root may write through any
/// permission bits, so `chmod` would prove nothing); mounting needs root, the damaged database
/// does not.
@Suite(.serialized)
struct StorageFaultTests {
    /// Mounts a tmpfs with `options` for `body`, and unmounts it afterwards either way.
    private func withTmpfs(options: String, _ body: (String) async throws -> Void) async throws {
        let mountPoint = NSTemporaryDirectory() + "aviary-storage-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let mounted = try runCommand(["/bin/mount", "-t", "tmpfs", "-o", options, "tmpfs", mountPoint])
        try #require(mounted.status == 0, "mount failed: \(mounted.output)")
        do {
            try await body(mountPoint)
        } catch {
            _ = try? runCommand(["/bin/umount", "-l", mountPoint])
            throw error
        }
        _ = try runCommand(["/bin/umount", "-l", mountPoint])
    }

    /// Runs `aviary serve` expecting it to refuse to start; kills it if it does not exit within 60 s.
    private func serveRefusal(stateDirectory: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtProductsDirectory() + "/aviary")
        let port = PortAllocator.freePort() ?? 17499
        process.arguments = ["serve", "--state-dir", stateDirectory, "--listen", "127.0.0.1:\(port)", "--no-router"]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID()).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aReadOnlyStateDirectoryIsRefusedAtStartNamingIt() async throws {
        try await withTmpfs(options: "ro,size=1m") { mountPoint in
            let (status, output) = try serveRefusal(stateDirectory: mountPoint)
            #expect(status == 1)
            #expect(
                output.contains(
                    "error: state directory \(mountPoint): not writable (Read-only file system); "
                        + "fix its permissions or pass --state-dir with a writable directory"), "\(output)")
        }
    }

    @Test func aDamagedDatabaseIsRefusedAtStartSayingHowToRecover() async throws {
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--no-router"])
        defer { try? FileManager.default.removeItem(atPath: daemon.stateDirectory) }
        let applied = await daemon.call(.POST, "/api/v1/apply", body: Data(sampleService.utf8))
        #expect(applied?.status == 200)
        daemon.terminate()
        // A real database whose pages are then overwritten behind the 100-byte header, as a bad
        // disk would leave it: SQLite still takes it for a database, and finds it damaged.
        let file = daemon.stateDirectory + "/aviary.sqlite"
        try? FileManager.default.removeItem(atPath: file + "-wal")
        try? FileManager.default.removeItem(atPath: file + "-shm")
        let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 4096
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: max(size, 4096) - 100))
        try handle.close()
        let damaged = try Data(contentsOf: URL(fileURLWithPath: file))

        let (status, output) = try serveRefusal(stateDirectory: daemon.stateDirectory)
        #expect(status == 1)
        #expect(output.contains("error: state database \(file) is damaged"), "\(output)")
        #expect(output.contains("restore it from a backup or move it away to start with an empty state"), "\(output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == damaged, "the damaged file is left for recovery")
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskAnswers507AndLosesNothingAcknowledged() async throws {
        try await withTmpfs(options: "size=4m") { mountPoint in
            let daemon = Daemon(stateDirectory: mountPoint + "/state")
            try await daemon.start(extraArguments: ["--no-router"])
            let filler = mountPoint + "/filler"
            do {
                // Each Service gets its own port: on one host two Services cannot share one.
                func service(_ name: String, port: Int, blob: Int = 0) -> String {
                    """
                    apiVersion: v1
                    kind: Service
                    metadata:
                      name: \(name)
                      annotations: {blob: "\(String(repeating: "x", count: blob))"}
                    spec:
                      selector: {app: \(name)}
                      ports: [{port: \(port)}]
                    """
                }
                let kept = await daemon.call(.POST, "/api/v1/apply", body: Data(service("kept", port: 8080).utf8))
                #expect(kept?.status == 200, "\(kept?.text ?? "no answer")")

                // Fill the file system to the last byte.
                FileManager.default.createFile(atPath: filler, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
                let chunk = Data(repeating: 1, count: 64 * 1024)
                while (try? handle.write(contentsOf: chunk)) != nil {}
                let byte = Data([1])
                while (try? handle.write(contentsOf: byte)) != nil {}
                try? handle.close()

                let both = service("big-a", port: 8081, blob: 300_000) + "\n---\n" + service("big-b", port: 8082, blob: 300_000)
                let refused = await daemon.call(.POST, "/api/v1/apply", body: Data(both.utf8))
                #expect(refused?.status == 507, "\(refused?.text ?? "no answer")")
                #expect(
                    (refused?.json["error"] as? String)?.contains(
                        "state directory \(mountPoint)/state: the disk is full; free space and retry") == true,
                    "\(refused?.text ?? "")")
                #expect(await daemon.call(.GET, "/healthz")?.status == 200)
                let listed = (await daemon.call(.GET, "/api/v1/services"))?.text ?? ""
                #expect(listed.contains("\"kept\""))
                #expect(!listed.contains("big-a") && !listed.contains("big-b"), "nothing half-written")

                // Space again: the same apply goes through without a restart.
                try FileManager.default.removeItem(atPath: filler)
                let accepted = await daemon.call(.POST, "/api/v1/apply", body: Data(both.utf8))
                #expect(accepted?.status == 200, "\(accepted?.text ?? "no answer")")

                // A new daemon passes the integrity check at start and has every acknowledged write.
                daemon.terminate()
                try await daemon.start(extraArguments: ["--no-router"])
                let afterRestart = (await daemon.call(.GET, "/api/v1/services"))?.text ?? ""
                for name in ["kept", "big-a", "big-b"] {
                    #expect(afterRestart.contains("\"\(name)\""), "\(name) missing after restart")
                }
            } catch {
                try? FileManager.default.removeItem(atPath: filler)
                await daemon.cleanUp()
                throw error
            }
            try? FileManager.default.removeItem(atPath: filler)
            await daemon.cleanUp()
        }
    }
}
