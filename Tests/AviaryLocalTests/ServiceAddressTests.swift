import AviaryPlatform
import Testing

@testable import AviaryLocal

/// Where Services listen: the shared address while their port is free there, else an address of
/// their own from the range, kept while it stays free.
@Suite struct ServiceAddressTests {
    static let range = try! ServiceAddressRange(parsing: "127.0.1.0/30")

    static func service(_ name: String, port: Int = 80, address: String = "127.0.0.1") -> PlatformService {
        PlatformService(name: name, address: address, port: port, selector: ["app": name])
    }

    static func placed(_ services: PlatformService...) -> [String: PlatformService] {
        Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0) })
    }

    /// Each row: the Services placed already, the one applied, the range, and the address it gets.
    static let rows: [(placed: [String: PlatformService], applied: PlatformService, range: ServiceAddressRange?, address: String)] = [
        // Alone on its port: the shared address.
        ([:], service("web"), range, "127.0.0.1"),
        (placed(service("api", port: 8080)), service("web"), range, "127.0.0.1"),
        // Port 80 taken on the shared address: the first free address of the range.
        (placed(service("web")), service("stable"), range, "127.0.1.1"),
        (placed(service("web"), service("stable", address: "127.0.1.1")), service("canary"), range, "127.0.1.2"),
        // An address once given is kept on the next apply, even when the shared one is free again.
        (placed(service("stable", address: "127.0.1.1")), service("stable"), range, "127.0.1.1"),
        // ... unless another Service took that address and port meanwhile.
        (
            placed(service("stable", address: "127.0.1.1"), service("other", address: "127.0.1.1")),
            service("stable"), range, "127.0.0.1"
        ),
        // The range is used up: the shared address (the router keeps the first listener).
        (
            placed(service("a"), service("b", address: "127.0.1.1"), service("c", address: "127.0.1.2")),
            service("d"), range, "127.0.0.1"
        ),
        // Without a range (--service-address given) everything shares the address.
        (placed(service("web")), service("stable"), nil, "127.0.0.1"),
    ]

    @Test(arguments: rows.indices)
    func places(row: Int) {
        let (placed, applied, range, address) = Self.rows[row]
        #expect(ServiceAddressPlacement.place(applied, among: placed, range: range).address == address)
    }

    @Test func rangesParseInsideLoopbackOnly() throws {
        let range = try ServiceAddressRange(parsing: "127.0.1.0/24")
        #expect(range.description == "127.0.1.0/24")
        #expect(range.address(0) == "127.0.1.1")
        #expect(range.address(253) == "127.0.1.254")
        for bad in ["10.0.0.0/24", "127.0.1.0", "127.0.1.0/31", "127.0.1.0/x", "localhost/24"] {
            #expect(throws: ServiceAddressRange.Invalid.self) { try ServiceAddressRange(parsing: bad) }
        }
    }
}
