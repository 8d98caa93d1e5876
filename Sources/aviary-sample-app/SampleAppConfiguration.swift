import Foundation
import NIOCore

/// What the sample app does, read from its environment once at start.
///
/// The image tag decides how the app misbehaves, as Argo's demo images do: a tag starting
/// `bad-` answers HTTP 500 to 20% of requests and `slow-` adds 300 ms to every answer.
/// `ERROR_RATE` (0...1) and `LATENCY_MS` override what the tag says.
struct SampleAppConfiguration: Sendable {
    /// The loopback port to listen on (`PORT`); 0 asks the system for a free one.
    var port: Int
    /// The image this instance pretends to run (`IMAGE`), reported by `GET /`.
    var image: String
    /// The pod name (`POD_NAME`), reported by `GET /`.
    var pod: String
    /// The share of application requests answered with HTTP 500, in parts per million.
    var errorPartsPerMillion: Int
    /// The delay added before every application answer.
    var latencyMilliseconds: Int

    /// A configuration error names the variable and how to fix it.
    struct InvalidEnvironment: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the configuration from environment variables.
    static func fromEnvironment(_ environment: [String: String]) throws -> SampleAppConfiguration {
        guard let portText = environment["PORT"], let port = Int(portText), (0...65535).contains(port) else {
            throw InvalidEnvironment(
                description: "PORT must be set to a port number (0...65535), got \(environment["PORT"] ?? "nothing")"
            )
        }
        let image = environment["IMAGE"] ?? "aviary-sample-app:latest"
        let tag = imageTag(image)
        var errorRate = tag.hasPrefix("bad-") ? 0.2 : 0
        var latency = tag.hasPrefix("slow-") ? 300 : 0
        if let text = environment["ERROR_RATE"] {
            guard let rate = Double(text), (0...1).contains(rate) else {
                throw InvalidEnvironment(description: "ERROR_RATE must be a number from 0 to 1, got \(text)")
            }
            errorRate = rate
        }
        if let text = environment["LATENCY_MS"] {
            guard let milliseconds = Int(text), milliseconds >= 0 else {
                throw InvalidEnvironment(
                    description: "LATENCY_MS must be a whole number of milliseconds >= 0, got \(text)")
            }
            latency = milliseconds
        }
        return SampleAppConfiguration(
            port: port,
            image: image,
            pod: environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName,
            errorPartsPerMillion: Int((errorRate * 1_000_000).rounded()),
            latencyMilliseconds: latency
        )
    }

    /// The tag of an image reference: what follows the last `:` of the last path component
    /// (`argoproj/rollouts-demo:bad-yellow` gives `bad-yellow`); a bare name is its own tag.
    static func imageTag(_ image: String) -> Substring {
        let lastComponent = image.split(separator: "/").last ?? Substring(image)
        if let colon = lastComponent.lastIndex(of: ":") {
            return lastComponent[lastComponent.index(after: colon)...]
        }
        return lastComponent
    }
}
