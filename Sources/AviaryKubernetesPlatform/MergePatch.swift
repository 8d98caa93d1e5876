import AviaryJSON
import AviaryKubernetes

/// JSON merge patches (RFC 7386) between two documents: what the controller sends instead of
/// whole objects, so a field another writer set meanwhile (Argo's plugin patching
/// `status.pauseConditions`) is kept unless this change is about it.
public enum MergePatch {
    /// The merge patch that turns `old` into `new`; nil when they are equal. Members of `old`
    /// missing from `new` become `null` (removed); objects are diffed member by member; any
    /// other value (arrays included, as RFC 7386 says) is replaced whole.
    ///
    /// Example: old `{"a":1,"b":{"c":2,"d":3}}`, new `{"b":{"c":2,"d":4},"e":5}` gives
    /// `{"a":null,"b":{"d":4},"e":5}`.
    public static func diff(from old: JSONValue?, to new: JSONValue?) -> JSONValue? {
        guard old != new else { return nil }
        guard case .object(let oldMembers)? = old, case .object(let newMembers)? = new else {
            return new ?? .null
        }
        var patch: [String: JSONValue] = [:]
        for (name, oldValue) in oldMembers where newMembers[name] == nil && oldValue != .null {
            patch[name] = .null
        }
        for (name, newValue) in newMembers {
            if let change = diff(from: oldMembers[name], to: newValue) { patch[name] = change }
        }
        return patch.isEmpty ? nil : .object(patch)
    }

    /// `patch` applied to `target` (RFC 7386): what the server computes.
    public static func apply(_ patch: JSONValue, to target: JSONValue?) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let members)? = target { result = members } else { result = [:] }
        for (name, value) in patchMembers {
            if value == .null {
                result.removeValue(forKey: name)
            } else {
                result[name] = apply(value, to: result[name])
            }
        }
        return .object(result)
    }
}
