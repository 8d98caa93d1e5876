import AviaryPlatform
import Foundation

/// The loopback addresses Services get on one host, as a cluster gives each Service a ClusterIP:
/// `aviary serve --service-address-range 127.0.1.0/24` (the default). Every address of
/// 127.0.0.0/8 is the host's own, so nothing has to be configured for the router to listen there.
public struct ServiceAddressRange: Sendable, Equatable, CustomStringConvertible {
    /// The first address, as a 32-bit number.
    let first: UInt32
    /// How many addresses the range holds (its network and broadcast addresses left out).
    let count: UInt32

    /// Why a range cannot be used; the message names the flag and the fix.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        /// The message.
        public var description: String
    }

    /// Parses `A.B.C.D/PREFIX`, which must lie inside 127.0.0.0/8 and hold at least 2 addresses.
    public init(parsing text: String) throws(Invalid) {
        let usage =
            "--service-address-range \(text): expected a loopback block such as 127.0.1.0/24 (inside 127.0.0.0/8, "
            + "prefix 8 to 30)"
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var address = in_addr()
        guard parts.count == 2, let prefix = Int(parts[1]), (8...30).contains(prefix),
            inet_pton(AF_INET, String(parts[0]), &address) == 1
        else { throw Invalid(description: usage) }
        let value = UInt32(bigEndian: address.s_addr)
        guard value >> 24 == 127 else { throw Invalid(description: usage) }
        let size = UInt32(1) << UInt32(32 - prefix)
        let network = value & ~(size - 1)
        first = network + 1
        count = size - 2
    }

    /// The range's `n`th address (0-based), as text.
    func address(_ index: UInt32) -> String {
        let value = first + index
        return "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }

    public var description: String {
        let prefix = 32 - Int(UInt32(count + 2).trailingZeroBitCount)
        let network = first - 1
        return "\(network >> 24).\((network >> 16) & 0xff).\((network >> 8) & 0xff).\(network & 0xff)/\(prefix)"
    }
}

/// Where each Service listens. With a range (the default) a Service keeps the shared address
/// (`--service-address`, 127.0.0.1) while no other Service listens on its port there, so manifests
/// with distinct ports keep their `127.0.0.1:PORT`; a Service whose port is taken there gets the
/// first address of the range that no other Service holds, so several Services on port 80 each
/// listen on an address of their own, as on a cluster. An address once given is kept while the
/// Service exists and its address and port stay free of others. Without a range every Service
/// listens on the shared address (the API refuses a port that is taken).
public enum ServiceAddressPlacement {
    /// `service` with the address it listens on, given the other Services (`placed`, keyed by
    /// name, the service's own former self included).
    public static func place(
        _ service: PlatformService, among placed: [String: PlatformService], range: ServiceAddressRange?
    ) -> PlatformService {
        var service = service
        let others = placed.values.filter { $0.name != service.name }
        func isFree(_ address: String) -> Bool {
            !others.contains { $0.address == address && $0.port == service.port }
        }
        guard let range else { return service }
        if let former = placed[service.name]?.address, isFree(former) {
            service.address = former
            return service
        }
        if isFree(service.address) { return service }
        let held = Set(others.map(\.address))
        for index in 0..<range.count where !held.contains(range.address(index)) {
            service.address = range.address(index)
            return service
        }
        return service
    }
}
