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
        // The port is really free: a listener binds it.
        let port = try #require(PortAllocator.freePort())
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(socketDescriptor, 1) == 0)
    }
}
