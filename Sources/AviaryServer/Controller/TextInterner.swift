import AviaryModel

/// Keeps one copy of equal strings that many cached objects hold. A decoded string longer than
/// 15 bytes is an allocation of its own (shorter ones live inline); a settled rollout's decoded
/// status holds about a dozen (eight condition timestamps, mostly equal, and reasons and messages
/// that most rollouts share), an estimated 600 bytes per rollout.
///
/// The table is bounded: once it holds `limit` strings it starts over, so texts that are unique
/// to one rollout (a message naming its ReplicaSet) cannot grow it without end. A string handed
/// out before that stays valid; later equal strings then share a new copy.
struct TextInterner {
    /// How many strings the table holds before it starts over.
    let limit: Int
    private var texts = Set<String>()

    init(limit: Int = 4096) {
        self.limit = limit
    }

    /// How many strings the table holds now.
    var count: Int { texts.count }

    /// `text`, or an equal string interned before (which shares its storage).
    mutating func intern(_ text: String?) -> String? {
        // 15 bytes or fewer are stored inline: nothing to share.
        guard let text, text.utf8.count > 15 else { return text }
        if let index = texts.firstIndex(of: text) { return texts[index] }
        if texts.count >= limit { texts.removeAll(keepingCapacity: true) }
        texts.insert(text)
        return text
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
