/// Bounds that keep a render from trapping or running away, whatever the template says.
struct RenderLimits: Sendable {
    /// Rendered output (and any single string a function builds) is capped at this many bytes.
    var outputBytes = 1 << 20
    /// Node visits plus command evaluations; stops ranges nested over huge lists.
    var steps = 5_000_000
    /// `{{template}}` calls nested this deep fail, as Go's does at a much larger depth.
    var includeDepth = 100
}
