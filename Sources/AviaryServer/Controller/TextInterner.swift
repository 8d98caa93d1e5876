import AviaryModel

/// Keeps one copy of equal strings that many cached objects hold. A decoded string longer than
/// 15 bytes is an allocation of its own (shorter ones live inline); a settled rollout's decoded
/// status holds about a dozen (eight condition timestamps, mostly equal, and reasons and messages
/// that most rollouts share), an estimated 600 bytes per rollout.
///
/// The table holds two generations: the strings asked for since the last `age()` and those of
/// the generation before. `age()` (each forced full pass) drops the older one, so a string no
/// status has been decoded with for two passes leaves the table: a timestamp of a status long
/// replaced (every release writes new ones) is not kept for good, and at rest the table empties.
/// A generation that reaches `limit` strings ages at once, so a burst of unique texts cannot grow
/// it without end either. A string handed out stays valid; it only stops being shared with
/// strings interned later.
struct TextInterner {
    /// How many strings one generation holds before it ages.
    let limit: Int
    private var current = Set<String>()
    private var previous = Set<String>()

    init(limit: Int = 4096) {
        self.limit = limit
    }

    /// How many strings the table holds now (both generations).
    var count: Int { current.count + previous.count }

    /// `text`, or an equal string interned before (which shares its storage).
    mutating func intern(_ text: String?) -> String? {
        // 15 bytes or fewer are stored inline: nothing to share.
        guard let text, text.utf8.count > 15 else { return text }
        if let index = current.firstIndex(of: text) { return current[index] }
        if current.count >= limit { age() }
        let shared = previous.firstIndex(of: text).map { previous[$0] } ?? text
        current.insert(shared)
        return shared
    }

    /// Starts a new generation and drops the one before the current one.
    mutating func age() {
        previous = current
        current = []
    }

    /// `status` with its conditions' timestamps, reasons and messages and its start and end times interned:
    /// an equal value.
    mutating func intern(_ status: RolloutStatus) -> RolloutStatus {
        var status = status
        if var conditions = status.conditions {
            for index in conditions.indices {
                conditions[index].lastUpdateTime = intern(conditions[index].lastUpdateTime)
                conditions[index].lastTransitionTime = intern(conditions[index].lastTransitionTime)
                conditions[index].reason = intern(conditions[index].reason)
                conditions[index].message = intern(conditions[index].message)
            }
            status.conditions = conditions
        }
        if var duration = status.duration {
            duration.rolloutStartedAt = intern(duration.rolloutStartedAt)
            duration.finishedAt = intern(duration.finishedAt)
            status.duration = duration
        }
        return status
    }
}
