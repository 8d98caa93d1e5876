import AviaryClient
import Testing

/// A pod that keeps exiting says why in `get rollout`'s tree.
@Suite struct CrashedPodRenderTests {
    @Test func aCrashedPodShowsHowItLastEnded() throws {
        var snapshot = try RendererFixture.canaryMidway.snapshot()
        let index = try #require(snapshot.pods.firstIndex { !$0.ready })
        snapshot.pods[index].pid = nil
        snapshot.pods[index].restarts = 4
        snapshot.pods[index].lastTermination = "exit 127"
        let line = try #require(
            RolloutRenderer.render(snapshot, now: RendererGoldenTests.now, colour: false)
                .split(separator: "\n").first { $0.contains(snapshot.pods[index].name) })
        #expect(line.contains("✖ Error"))
        #expect(line.hasSuffix("ready:0/1,restarts:4,last: exit 127"), "\(line)")
    }

    @Test func aReadyPodDoesNotRepeatAnOldExit() throws {
        var snapshot = try RendererFixture.canaryMidway.snapshot()
        let index = try #require(snapshot.pods.firstIndex { $0.ready })
        snapshot.pods[index].lastTermination = "exit 1"
        let text = RolloutRenderer.render(snapshot, now: RendererGoldenTests.now, colour: false)
        #expect(!text.contains("last: exit 1"))
    }
}
