import Foundation

/// The bundled manifests of `aviary demo` (examples/demo), adapted to the ports and the
/// Prometheus the demo starts.
public struct DemoManifests: Sendable, Equatable {
    /// The Rollout and its three Services.
    public var rollout: String
    /// The `success-rate` AnalysisTemplate.
    public var template: String

    /// The loopback ports the demo gives the Services.
    public struct Ports: Sendable, Equatable {
        /// All traffic (`sample-app`, 8080 in the file).
        public var root: Int
        /// The stable pods (`sample-app-stable`, 8081).
        public var stable: Int
        /// The canary pods (`sample-app-canary`, 8082).
        public var canary: Int

        /// Three ports.
        public init(root: Int, stable: Int, canary: Int) {
            self.root = root
            self.stable = stable
            self.canary = canary
        }
    }

    /// A bundled line the demo must replace is missing: someone edited examples/demo.
    public struct Invalid: Error, CustomStringConvertible {
        /// What is wrong and how to fix it.
        public var description: String
    }

    /// The files' names in the manifests directory.
    public static let rolloutFile = "rollout.yaml"
    /// The template's file name.
    public static let templateFile = "success-rate.yaml"

    /// Reads both files from `directory` (examples/demo).
    public static func read(from directory: String) throws -> DemoManifests {
        func text(_ name: String) throws -> String {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Invalid(
                    description:
                        "\(path): cannot read the demo's manifests; run from a clone of Aviary or pass --manifests DIR")
            }
            return String(decoding: data, as: UTF8.self)
        }
        return DemoManifests(rollout: try text(rolloutFile), template: try text(templateFile))
    }

    /// The manifests with the Services on `ports`, the template's Prometheus `address`, and with
    /// `fast` the analysis measured after 12 s and then every 3 s (instead of 10 s and 10 s).
    /// The first delay is not shorter because Prometheus 2 takes up to about 11 s to scrape a
    /// new pod (its discovery and scrape managers each apply target changes every 5 s, then
    /// the scrape interval); measured earlier, the new canary has no series yet and the
    /// measurement is an Error, retried only 10 s later.
    /// The query is left exactly as it is.
    public func adapted(ports: Ports, prometheus address: String, fast: Bool) throws -> DemoManifests {
        var rollout = self.rollout
        for (file, port) in [(8080, ports.root), (8081, ports.stable), (8082, ports.canary)] {
            rollout = try Self.replace(
                "port: \(file)", with: "port: \(port)", in: rollout, file: Self.rolloutFile, field: "spec.ports[0].port"
            )
        }
        var template = try Self.replace(
            "address: http://127.0.0.1:9090", with: "address: \(address)", in: self.template, file: Self.templateFile,
            field: "spec.metrics[0].provider.prometheus.address")
        if fast {
            template = try Self.replace(
                "initialDelay: 10s", with: "initialDelay: 12s", in: template, file: Self.templateFile,
                field: "spec.metrics[0].initialDelay")
            template = try Self.replace(
                "interval: 10s", with: "interval: 3s", in: template, file: Self.templateFile,
                field: "spec.metrics[0].interval")
        }
        return DemoManifests(rollout: rollout, template: template)
    }

    /// Replaces the one line whose content (after indentation) is `old`; any other count is an error.
    static func replace(_ old: String, with new: String, in text: String, file: String, field: String) throws -> String
    {
        var lines = text.components(separatedBy: "\n")
        let matches = lines.indices.filter { lines[$0].trimmingCharacters(in: .whitespaces) == old }
        guard matches.count == 1 else {
            throw Invalid(
                description:
                    "examples/demo/\(file): \(field) must read `\(old)` exactly once (found \(matches.count)); "
                    + "the demo replaces it. Restore the bundled file (git checkout examples/demo)")
        }
        let index = matches[0]
        let indentation = lines[index].prefix { $0 == " " }
        lines[index] = indentation + new
        return lines.joined(separator: "\n")
    }

    /// Finds examples/demo: in the current directory or a parent, or above the executable
    /// (a build in .build/…/debug of a clone), or in ../share/aviary/examples beside the
    /// executable (the .deb of scripts/package).
    public static func locateDirectory(executable: String) -> String? {
        let manager = FileManager.default
        var candidates: [String] = []
        for start in [manager.currentDirectoryPath, (executable as NSString).deletingLastPathComponent] {
            var directory = start
            while !directory.isEmpty {
                candidates.append(directory + "/examples/demo")
                if directory == "/" { break }
                directory = (directory as NSString).deletingLastPathComponent
            }
        }
        // Where the .deb of scripts/package installs them: /usr/bin/aviary → /usr/share/aviary/examples.
        let installed = ((executable as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        candidates.append(installed + "/share/aviary/examples/demo")
        return candidates.first { manager.fileExists(atPath: $0 + "/" + rolloutFile) }
    }
}
