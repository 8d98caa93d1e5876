import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import Foundation
import NIOHTTP1

/// Where InfluxDB is and how to sign in: a profile Secret's `address`, `org` and `authToken`.
public struct InfluxDBAccount: Sendable, Equatable {
    public var address: String
    public var org: String
    public var token: String

    /// The account of a profile Secret's keys (Argo's message when one is missing).
    public init(secret values: [String: String]) throws(InfluxDBError) {
        guard let token = values["authToken"], let org = values["org"], let address = values["address"],
            !token.isEmpty, !org.isEmpty, !address.isEmpty
        else { throw InfluxDBError("authToken, org, or address not found") }
        self.address = address
        self.org = org
        self.token = token
    }
}

/// Why an InfluxDB measurement could not be taken.
public struct InfluxDBError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Sends Flux to InfluxDB 2's `/api/v2/query` as Argo's provider (InfluxDB's Go client) does and
/// reads the annotated CSV it answers: `result` is every record's `_value`, in order.
public enum InfluxDBClient {
    /// Argo's bound on one query.
    static let timeout = Duration.seconds(30)

    struct Body: Encodable {
        struct Dialect: Encodable {
            var annotations = ["datatype", "group", "default"]
            var delimiter = ","
            var header = true
        }
        var dialect = Dialect()
        var query: String
        var type = "flux"
    }

    static func request(_ spec: InfluxDBSpec, account: InfluxDBAccount) throws(InfluxDBError) -> MetricHTTPRequest {
        let base = account.address.hasSuffix("/") ? String(account.address.dropLast()) : account.address
        guard var url = URLComponents(string: base + "/api/v2/query"), let scheme = url.scheme,
            ["http", "https"].contains(scheme), url.host != nil
        else { throw InfluxDBError("InfluxDB address \(account.address) is not a valid URL; fix address in the Secret") }
        url.queryItems = [URLQueryItem(name: "org", value: account.org)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return MetricHTTPRequest(
            method: .POST, url: url.string ?? base,
            headers: [
                ("Authorization", "Token \(account.token)"), ("Content-Type", "application/json"),
                ("Accept", "text/csv"),
            ],
            body: try? encoder.encode(Body(query: spec.query)), timeout: timeout)
    }

    static func run(_ spec: InfluxDBSpec, account: InfluxDBAccount) async throws(InfluxDBError) -> [ExprValue] {
        let response = try await MetricHTTP.send(try request(spec, account: account), failure: InfluxDBError.init)
        guard (200..<300).contains(response.status) else {
            // The Go client's message: `code: message` from InfluxDB's JSON error.
            if let error = try? JSONDecoder().decode(JSONValue.self, from: response.body),
                let code = error["code"]?.stringValue, let message = error["message"]?.stringValue
            {
                throw InfluxDBError("\(code): \(message)")
            }
            throw InfluxDBError("Unexpected status code \(response.status)")
        }
        return try values(csv: String(decoding: response.body, as: UTF8.self))
    }

    /// The `_value` of every record of every table of an annotated CSV answer, typed by the
    /// `#datatype` annotation (`double` a float, `long` and `unsignedLong` an integer, `boolean`
    /// a boolean, others a string) with `#default` filling empty cells. An error table (columns
    /// `error`, `reference`) is thrown as its message.
    static func values(csv: String) throws(InfluxDBError) -> [ExprValue] {
        var values: [ExprValue] = []
        var types: [String] = []
        var defaults: [String] = []
        var header: [String]?
        for rawLine in csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = String(rawLine)
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                header = nil
                continue
            }
            let cells = split(line)
            if line.hasPrefix("#") {
                // A new table begins with its annotations.
                header = nil
                switch cells.first {
                case "#datatype": types = cells
                case "#default": defaults = cells
                default: break
                }
                continue
            }
            guard let columns = header else {
                header = cells
                continue
            }
            if columns.contains("error") {
                let message = cells[safe: columns.firstIndex(of: "error")!] ?? ""
                let reference = columns.firstIndex(of: "reference").flatMap { cells[safe: $0] } ?? ""
                throw InfluxDBError(reference.isEmpty ? message : "\(message) [\(reference)]")
            }
            guard let index = columns.firstIndex(of: "_value") else { continue }
            var cell = cells[safe: index] ?? ""
            if cell.isEmpty { cell = defaults[safe: index] ?? "" }
            values.append(typed(cell, type: types[safe: index] ?? "string"))
        }
        return values
    }

    /// `fmt.Sprint` of the values, as Argo writes the measurement: `[0.5 12 true ok]`.
    static func display(_ values: [ExprValue]) -> String {
        "["
            + values.map { value in
                switch value {
                case .float(let number): GoNumbers.general(number)
                case .int(let number): String(number)
                case .bool(let flag): String(flag)
                case .string(let text): text
                case .nil: "<nil>"
                default: "\(value)"
                }
            }.joined(separator: " ") + "]"
    }

    private static func typed(_ cell: String, type: String) -> ExprValue {
        if cell.isEmpty && type != "string" { return .nil }
        switch type {
        case "double":
            switch cell {
            case "+Inf", "Inf": return .float(.infinity)
            case "-Inf": return .float(-.infinity)
            case "NaN": return .float(.nan)
            default: return Double(cell).map(ExprValue.float) ?? .string(cell)
            }
        case "long", "unsignedLong": return Int(cell).map(ExprValue.int) ?? .string(cell)
        case "boolean": return .bool(cell == "true")
        default: return .string(cell)
        }
    }

    /// One CSV line's cells (RFC 4180 quoting: `"a,b"`, `""` for a quote).
    static func split(_ line: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = iterator.next()
                    if next == "\"" {
                        cell.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                cells.append(cell)
                cell = ""
            } else if character != "\r" {
                cell.append(character)
            }
        }
        cells.append(cell)
        return cells
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
