import AviaryLocal
import Foundation

/// The directory holding the package's built executables: the nearest directory above the test
/// binary that contains `product` (`aviary`, `aviary-sample-app`, `aviary-store-writer`).
public func builtProductsDirectory(containing product: String = "aviary") -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var directory = (executable as NSString).deletingLastPathComponent
    while !directory.isEmpty, directory != "/", !FileManager.default.fileExists(atPath: directory + "/" + product) {
        directory = (directory as NSString).deletingLastPathComponent
    }
    return directory
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
public func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A free loopback port: bound to port 0, read back, released.
public func freePort() throws -> Int {
    guard let port = PortAllocator.freePort() else { throw TestSupportFailure("cannot find a free loopback port") }
    return port
}

/// `count` distinct free loopback ports. Each is free when chosen, but the kernel may hand the same
/// port out again once its probe socket closes, so a list of single picks can repeat one.
public func freePorts(_ count: Int) throws -> [Int] {
    var ports: [Int] = []
    var attempts = 0
    while ports.count < count {
        attempts += 1
        guard attempts <= count * 20 else { throw TestSupportFailure("cannot find \(count) distinct free loopback ports") }
        let port = try freePort()
        if !ports.contains(port) { ports.append(port) }
    }
    return ports
}

/// A test helper that could not do its job.
public struct TestSupportFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String

    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}
