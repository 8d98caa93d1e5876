import Foundation
import Testing

/// The `prometheus` executable the tests run: the first on PATH, as `aviary demo` finds it.
enum PrometheusExecutable {
    static let path: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":")
        return directories.map { "\($0)/prometheus" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether the tests that need a real Prometheus run: where one is installed, and always
    /// under CI (`CI` set), where a missing Prometheus fails those tests rather than skip them.
    static let isRequired = path != nil || ProcessInfo.processInfo.environment["CI"] != nil

    /// The path, or a failure that says how to install it.
    static func required() throws -> String {
        try #require(path, "prometheus is not on PATH: install it with `apt-get install -y prometheus`")
    }
}
