import AviaryAPI
import Foundation

/// `aviary events ROLLOUT`: a rollout's events as `kubectl events` prints them, oldest first.
public enum EventRenderer {
    /// The table: `LAST SEEN`, `TYPE`, `REASON`, `MESSAGE`, one event a line; a line saying there
    /// are none when the list is empty.
    public static func table(_ events: [EventList.Event], rollout: String, now: Date) -> String {
        guard !events.isEmpty else { return "No events for rollout \"\(rollout)\".\n" }
        let rows = [["LAST SEEN", "TYPE", "REASON", "MESSAGE"]]
            + events.map { [Style.age(since: Style.date($0.time), now: now), $0.type, $0.reason, $0.message] }
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            (0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "   ")
                + "   " + row[3]
        }.joined(separator: "\n") + "\n"
    }
}
