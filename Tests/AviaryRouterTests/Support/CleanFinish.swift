import NIOCore
import NIOEmbedded
import Testing

/// Ends `channel` and records an issue for an error its pipeline caught, or for messages left
/// unread on either side (the proxy consumes what the client sends and every answer is read).
func expectCleanFinish(_ channel: EmbeddedChannel, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let leftOver = try channel.finish(acceptAlreadyClosed: true)
        #expect(leftOver.isClean, "left over in the channel: \(leftOver)", sourceLocation: sourceLocation)
    } catch {
        Issue.record(error, "the pipeline caught an error", sourceLocation: sourceLocation)
    }
}
