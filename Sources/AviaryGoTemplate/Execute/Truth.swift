/// Go's `truth`: false, 0, 0.0, "", nil, no value and empty arrays and maps are false.
func isTrue(_ value: GoValue?) -> Bool {
    guard let value else { return false }
    switch value {
    case .null: return false
    case .bool(let flag): return flag
    case .int(let integer): return integer != 0
    case .double(let double): return double != 0
    case .string(let text): return !text.isEmpty
    case .array(let elements): return !elements.isEmpty
    case .object(let members): return !members.isEmpty
    }
}
