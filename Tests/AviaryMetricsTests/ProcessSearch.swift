import Foundation

/// The pids of live processes (not zombies) whose command line is exactly `arguments`, read
/// from `/proc`. Tests give the processes they start arguments no other process has (a `sleep`
/// with a random fraction), so a match is theirs.
func livePIDs(runningExactly arguments: [String]) -> [Int32] {
    let wanted = arguments.joined(separator: "\0") + "\0"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
            let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
            String(decoding: commandLine, as: UTF8.self) == wanted,
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards),
            stat[afterName.upperBound...].first != "Z"
        else { return nil }
        return pid
    }
}

/// A `sleep` duration no other process on the machine uses: `300.<random digits>`.
func uniqueSleepDuration() -> String {
    "300.\(UInt32.random(in: 100_000...999_999))"
}
