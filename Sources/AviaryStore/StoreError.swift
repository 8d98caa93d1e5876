import Foundation

/// Why the state store could not be opened or written. Each message names the path and the fix.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The state directory could not be created or is not a directory.
    case cannotCreateDirectory(path: String, reason: String)
    /// The state directory or the database file cannot be written.
    case notWritable(path: String, reason: String)
    /// The disk holding the state directory is full.
    case diskFull(path: String)
    /// The database file failed SQLite's integrity check or is not a database.
    case corrupt(path: String, details: String)
    /// Any other SQLite failure.
    case database(path: String, message: String)
    /// A value handed to the store is not a JSON object.
    case invalidObject(reason: String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "state directory \(path): cannot create it (\(reason)); "
                + "pass --state-dir with a directory you can write"
        case .notWritable(let path, let reason):
            return "state directory \(path): not writable (\(reason)); "
                + "fix its permissions or pass --state-dir with a writable directory"
        case .diskFull(let path):
            return "state directory \(path): the disk is full; free space and retry (nothing was written)"
        case .corrupt(let path, let details):
            return "state database \(path) is damaged (\(details)); "
                + "restore it from a backup or move it away to start with an empty state"
        case .database(let path, let message):
            return "state database \(path): \(message)"
        case .invalidObject(let reason):
            return "resource is not a JSON object: \(reason)"
        }
    }
}
