import Foundation

/// Reads /proc: the processes a run started (found by their arguments or their output file, since
/// a pod or router adopted after a daemon restart is no longer the daemon's child) and their
/// resident memory and open descriptors.
public enum ProcessTable {
    /// PIDs of live processes whose arguments include every string of `arguments`.
    public static func pids(withArguments arguments: [String]) -> [Int32] {
        allPIDs().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let own = Set(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            return arguments.allSatisfy(own.contains) && isAlive(pid)
        }
    }

    /// PIDs of live processes whose standard output is a file under `directory` (pods and the
    /// router write their output to the state directory's logs).
    static func pids(writingUnder directory: String) -> [Int32] {
        allPIDs().filter { pid in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1")
            else { return false }
            return target.hasPrefix(directory) && isAlive(pid)
        }
    }

    /// A process exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let closing = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: closing)...].split(separator: " ").first != "Z"
    }

    /// VmRSS of /proc/PID/status, in kB.
    static func residentKilobytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// The number of entries of /proc/PID/fd.
    static func openDescriptors(_ pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    private static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }
}

/// A small deterministic generator (SplitMix64), so a seed reproduces a run's choices.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
