import AviaryLocal
import Foundation
import Testing

/// Where listeners' ports come from: outside the range the kernel gives outgoing connections.
@Suite struct PortAllocatorTests {
    @Test(arguments: [
        ("32768\t60999\n", 32768...60999),
        ("1024 65000", 1024...65000),
        ("  49152   65535  ", 49152...65535),
        ("60999 32768", nil),
        ("32768", nil),
        ("0 60999", nil),
        ("32768 70000", nil),
        ("", nil),
    ] as [(String, ClosedRange<Int>?)])
    func theEphemeralRangeIsReadFromProc(text: String, expected: ClosedRange<Int>?) {
        #expect(PortAllocator.parseEphemeralRange(text) == expected)
    }

    @Test(arguments: [
        (32768...60999, 10000...32767),
        (11000...60999, 10000...10999),
        (10999...60999, 61000...65535),
        (10999...64999, nil),
        (1024...60999, 61000...65535),
        (1024...64535, 64536...65535),
        (1024...65000, nil),
    ] as [(ClosedRange<Int>, ClosedRange<Int>?)])
    func listenersTakePortsBelowTheEphemeralRangeElseAboveIt(
        ephemeral: ClosedRange<Int>, expected: ClosedRange<Int>?
    ) {
        #expect(PortAllocator.listenerRange(ephemeral: ephemeral) == expected)
    }

    @Test func aFreePortIsOutsideTheEphemeralRangeBindableAndNotHandedOutTwice() throws {
        let ephemeral = PortAllocator.ephemeralRange()
        let range = try #require(PortAllocator.listenerRange(ephemeral: ephemeral))
        var seen: Set<Int> = []
        for _ in 0..<100 {
            let port = try #require(PortAllocator.freePort())
            #expect(range.contains(port), "\(port) is not in \(range)")
            #expect(!ephemeral.contains(port))
            #expect(seen.insert(port).inserted, "\(port) was handed out twice")
        }
        // The port is really free: it binds.
        let port = try #require(PortAllocator.freePort())
        #expect(PortAllocator.bindLoopback(port: port) == port)
    }
}
