import AviaryKubernetes
import Foundation
import Synchronization
import Testing

/// A callback read and called on every watch event must cost the same on the thousandth call as
/// on the first: kept bare in a `Mutex`, each read wrapped the closure in two more thunks, so the
/// call stack under it grew with every event.
@Test func aCallbackCalledAThousandTimesRunsAtTheDepthOfTheFirstCall() {
    let callback = Callback<Int>()
    let depths = Mutex<[Int]>([])
    callback(0)  // nothing set: nothing runs
    callback.set { _ in depths.withLock { $0.append(Thread.callStackReturnAddresses.count) } }
    for call in 1...1000 { callback(call) }
    let seen = depths.withLock { $0 }
    #expect(seen.count == 1000)
    #expect(
        Set(seen).count == 1, "the stack under the callback grew: from \(seen.first ?? 0) to \(seen.last ?? 0) frames")
    callback.set { _ in depths.withLock { $0 = [] } }
    callback(1)
    #expect(depths.withLock { $0.isEmpty }, "the callback set last runs")
}
