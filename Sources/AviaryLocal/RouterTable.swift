import Foundation

/// The router's table in the format of its admin API.
public enum RouterTable {
    /// The listeners as the JSON body of `PUT /table`.
    public static func json(_ plans: [ListenerPlan]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(["listeners": plans])) ?? Data("{}".utf8)
    }
}
