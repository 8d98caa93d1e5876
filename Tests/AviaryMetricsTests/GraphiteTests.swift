import AviaryCore
import AviaryExpression
import AviaryModel
import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryMetrics

/// Debian's Graphite (carbon-cache and graphite-web), started in a temporary directory on
/// loopback ports of its own: carbon takes plaintext points and answers graphite-web's cache
/// queries, graphite-web (Django's server on Debian's python3) serves the render API.
final class GraphiteServer: Sendable {
    /// graphite-web's base URL.
    let address: String
    let linePort: Int
    private let directory: String
    private let processes: [WatchedProcess]

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/carbon-cache") }
    /// Where it is installed, and always under CI, which installs it (a missing one fails there).
    static var isRequired: Bool { isInstalled || ProcessInfo.processInfo.environment["CI"] != nil }

    init() async throws {
        try #require(
            Self.isInstalled, "Graphite is not installed: apt-get install -y graphite-carbon graphite-web")
        let directory = NSTemporaryDirectory() + "aviary-graphite-" + UUID().uuidString
        self.directory = directory
        let whisper = directory + "/whisper"
        try FileManager.default.createDirectory(atPath: whisper, withIntermediateDirectories: true)
        let ports = (0..<4).map { _ in freeLoopbackPort() }
        linePort = ports[0]
        address = "http://127.0.0.1:\(ports[3])"
        try """
        [cache]
        STORAGE_DIR = \(directory)
        LOCAL_DATA_DIR = \(whisper)
        WHITELISTS_DIR = \(directory)
        CONF_DIR = \(directory)
        LOG_DIR = \(directory)
        PID_DIR = \(directory)
        ENABLE_LOGROTATION = False
        USER =
        MAX_CACHE_SIZE = inf
        MAX_UPDATES_PER_SECOND = 10000
        MAX_CREATES_PER_MINUTE = inf
        LINE_RECEIVER_INTERFACE = 127.0.0.1
        LINE_RECEIVER_PORT = \(ports[0])
        ENABLE_UDP_LISTENER = False
        PICKLE_RECEIVER_INTERFACE = 127.0.0.1
        PICKLE_RECEIVER_PORT = \(ports[1])
        CACHE_QUERY_INTERFACE = 127.0.0.1
        CACHE_QUERY_PORT = \(ports[2])
        """.write(toFile: directory + "/carbon.conf", atomically: true, encoding: .utf8)
        try "[all]\npattern = .*\nretentions = 1s:1h\n".write(
            toFile: directory + "/storage-schemas.conf", atomically: true, encoding: .utf8)
        try """
        from graphite.settings import *  # noqa: F401,F403
        SECRET_KEY = "aviary-test"
        STORAGE_DIR = "\(directory)"
        WHISPER_DIR = "\(whisper)"
        STANDARD_DIRS = [WHISPER_DIR]
        LOG_DIR = "\(directory)"
        INDEX_FILE = "\(directory)/index"
        CARBONLINK_HOSTS = ["127.0.0.1:\(ports[2])"]
        DATABASES = {"default": {"NAME": "\(directory)/graphite.db", "ENGINE": "django.db.backends.sqlite3"}}
        ALLOWED_HOSTS = ["*"]
        """.write(toFile: directory + "/aviary_graphite_settings.py", atomically: true, encoding: .utf8)
        let environment = ProcessInfo.processInfo.environment.merging([
            "PYTHONPATH": directory, "DJANGO_SETTINGS_MODULE": "aviary_graphite_settings",
        ]) { $1 }
        func start(_ arguments: [String], name: String) throws -> WatchedProcess {
            try WatchedProcess(arguments, directory: directory, name: name, environment: environment)
        }
        let carbon = try start(
            ["/usr/bin/carbon-cache", "--config=\(directory)/carbon.conf", "--nodaemon", "start"], name: "carbon")
        let web = try start(
            ["/usr/bin/python3", "-m", "django", "runserver", "127.0.0.1:\(ports[3])", "--noreload"], name: "web")
        processes = [carbon, web]
        let up = await eventually(within: 60) {
            let carbonUp = (try? self.send("aviary.probe 1 \(Int(Date().timeIntervalSince1970))\n")) != nil
            // Asked with the async client: a blocking `Data(contentsOf:)` on the cooperative pool can hang.
            let webUp =
                await http(.GET, self.address + "/render?target=aviary.probe&format=json", timeout: 5)?.status == 200
            return carbonUp && webUp
        }
        if !up {
            let logs = processes.map(\.log)
            stop()
            Issue.record("Graphite did not start within 60 s:\n\(logs.joined(separator: "\n"))")
            throw GraphiteDidNotStart()
        }
    }

    struct GraphiteDidNotStart: Error {}

    /// Sends plaintext lines (`path value timestamp`) to carbon.
    func send(_ lines: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(linePort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw GraphiteDidNotStart() }
        let bytes = Array(lines.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw GraphiteDidNotStart() }
    }

    func stop() {
        for process in processes { process.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Argo's Graphite provider against a real Graphite: the render query built as Argo builds it,
/// the first target's values as the result, no datapoints an Error.
@Suite(.serialized, .enabled(if: GraphiteServer.isRequired, "Graphite is not installed"))
struct GraphiteProviderTests {
    func graphiteMetric(_ address: String, query: String, condition: String) -> Metric {
        metric(
            """
            - name: errors
              successCondition: \(condition)
              provider:
                graphite:
                  address: \(address)
                  query: |
                    target=summarize(
                      app.web.errors, '1h', 'max')&from=-10min
            """.replacingOccurrences(of: "app.web.errors", with: query))
    }

    @Test func theFirstTargetsValuesAreTheResult() async throws {
        let graphite = try await GraphiteServer()
        defer { graphite.stop() }
        let now = Int(Date().timeIntervalSince1970)
        try graphite.send((0..<5).map { "app.web.errors \($0 * 2) \(now - 5 + $0)\n" }.joined())
        let providers = MetricProviders()
        // The points reach the render API through carbon's cache; wait until they are there.
        var outcome = await providers.measure(
            request(graphiteMetric(graphite.address, query: "app.web.errors", condition: "result[0] < 10")))
        let arrived = await eventually(within: 60) {
            outcome = await providers.measure(
                request(graphiteMetric(graphite.address, query: "app.web.errors", condition: "result[0] < 10")))
            if case .value(_, let display, _) = outcome { return display == "[8.000000]" }
            return false
        }
        #expect(arrived, "\(outcome)")
        guard case .value(let value, _, _) = outcome else { return }
        #expect(value == .array([.float(8)]))

        // A raw series gives its points with values (nulls left out), in order.
        let raw = metric(
            """
            - name: raw
              provider:
                graphite: {address: "\(graphite.address)/", query: "target=app.web.errors&from=-1min"}
            """)
        guard case .value(.array(let points), _, _) = await providers.measure(request(raw)) else {
            Issue.record("no value for the raw series")
            return
        }
        #expect(points == [0, 2, 4, 6, 8].map(ExprValue.float))

        // A target Graphite has no series for: no datapoints, an Error as in Argo.
        let missing = await providers.measure(
            request(graphiteMetric(graphite.address, query: "app.web.nothing", condition: "\"true\"")))
        guard case .error(let message) = missing else {
            Issue.record("\(missing)")
            return
        }
        #expect(message == "no values found")
    }

    @Test func anUnreachableGraphiteIsAnErrorNamingTheURL() async throws {
        let port = freeLoopbackPort()
        let outcome = await MetricProviders().measure(
            request(graphiteMetric("http://127.0.0.1:\(port)", query: "app.web.errors", condition: "\"true\"")))
        guard case .error(let message) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(message.contains("127.0.0.1:\(port)/render?format=json&from=-10min&target="), "\(message)")
    }
}

/// The pure parts: the URL Argo's client builds and the datapoints it reads.
@Suite struct GraphiteClientTests {
    @Test(arguments: [
        ("http://g:8080", "target=a.b&from=-5min", "http://g:8080/render?format=json&from=-5min&target=a.b"),
        // Whitespace (a query over several lines) goes; a path on the address is kept.
        (
            "http://g/graphite/", "target=sumSeries(\n  a.*.b)\n&from=-5min",
            "http://g/graphite/render?format=json&from=-5min&target=sumSeries%28a.%2A.b%29"
        ),
        // A format of the user's is replaced; repeated targets keep their order.
        (
            "https://g", "format=csv&target=b&target=a&until=now",
            "https://g/render?format=json&target=b&target=a&until=now"
        ),
        ("http://g", "target=asPercent(a,b)", "http://g/render?format=json&target=asPercent%28a%2Cb%29"),
    ])
    func renderURL(address: String, query: String, expected: String) throws {
        #expect(try GraphiteClient.renderURL(address: address, query: query) == expected)
    }

    @Test func aBadAddressIsNamed() {
        #expect(throws: GraphiteError("Graphite address graphite:8080 is not a valid URL")) {
            try GraphiteClient.renderURL(address: "graphite:8080", query: "target=a")
        }
    }

    @Test func datapointsMayBeNumbersStringsOrNull() throws {
        let body = Data(
            #"[{"target":"a","datapoints":[[1,100],[null,101],["2.5","102"],[3.25,103.0]]},{"target":"b","datapoints":[[9,1]]}]"#
                .utf8)
        #expect(try GraphiteClient.values(from: body) == [1, nil, 2.5, 3.25])
        #expect(try GraphiteClient.values(from: Data("[]".utf8)) == [])
        #expect(throws: GraphiteError("error unmarshaling value: x")) {
            try GraphiteClient.values(from: Data(#"[{"datapoints":[["x",1]]}]"#.utf8))
        }
        #expect(throws: GraphiteError("error unmarshaling data point: [1]")) {
            try GraphiteClient.values(from: Data(#"[{"datapoints":[[1]]}]"#.utf8))
        }
        #expect(GraphiteClient.display([1, 2.5]) == "[1.000000,2.500000]")
    }
}
