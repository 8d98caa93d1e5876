import AviaryCore
import AviaryJSON
import Foundation

/// Why a Kayenta measurement could not be taken, in Argo's words.
public struct KayentaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Kayenta's REST API as Argo's provider calls it: the canary config's id by name, a canary
/// analysis started for it, then its execution asked after until it is complete.
enum KayentaClient {
    /// Argo's HTTP client timeout for each call.
    static let callTimeout: Duration = .seconds(15)

    /// `GET ADDRESS/canaryConfig?application=APP&configurationAccountName=ACCOUNT`: the id of the
    /// config named `canaryConfigName`. Argo passes `storageAccountName` as the configuration
    /// account here, and so does Aviary, so that a Kayenta set up for Argo answers alike.
    static func configID(_ spec: KayentaSpec) async throws(KayentaError) -> String {
        let url =
            spec.address + "/canaryConfig?"
            + query([("application", spec.application), ("configurationAccountName", spec.storageAccountName)])
        let response = try await MetricHTTP.send(
            MetricHTTPRequest(method: .GET, url: url, timeout: callTimeout), failure: KayentaError.init)
        guard response.status == 200 else { throw KayentaError("Invalid Response: HTTP \(response.status)") }
        guard let configs = (try? JSONDecoder().decode(JSONValue.self, from: response.body))?.arrayValue else {
            throw KayentaError(
                "could not read Kayenta's canary configs: \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            )
        }
        guard let config = configs.first(where: { $0["name"]?.stringValue == spec.canaryConfigName }),
            let id = config["id"]?.stringValue
        else { throw KayentaError("Canary config not found") }
        return id
    }

    /// `POST ADDRESS/canary/CONFIG_ID?application=...&metricsAccountName=...&...` with the scopes
    /// and thresholds: the execution's id.
    static func start(_ spec: KayentaSpec, configID: String, body: JSONValue) async throws(KayentaError) -> String {
        let url =
            spec.address + "/canary/\(configID)?"
            + query([
                ("application", spec.application), ("metricsAccountName", spec.metricsAccountName),
                ("configurationAccountName", spec.configurationAccountName),
                ("storageAccountName", spec.storageAccountName),
            ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let response = try await MetricHTTP.send(
            MetricHTTPRequest(
                method: .POST, url: url, headers: [("Content-Type", "application/json")],
                body: (try? encoder.encode(body)) ?? Data(), timeout: callTimeout),
            failure: KayentaError.init)
        guard response.status == 200 else { throw KayentaError("Invalid Response") }
        guard let answer = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            throw KayentaError(
                "could not read Kayenta's answer: \(String(decoding: response.body.prefix(200), as: UTF8.self))")
        }
        guard let id = answer["canaryExecutionId"]?.stringValue, !id.isEmpty else {
            throw KayentaError("Invalid canaryExecutionId")
        }
        return id
    }

    /// `GET ADDRESS/canary/EXECUTION_ID`: nil while the analysis is not complete, else its score
    /// (`result.judgeResult.score.score`).
    static func score(_ spec: KayentaSpec, execution: String) async throws(KayentaError) -> Double? {
        let response = try await MetricHTTP.send(
            MetricHTTPRequest(method: .GET, url: spec.address + "/canary/\(execution)", timeout: callTimeout),
            failure: KayentaError.init)
        guard response.status == 200, let answer = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            throw KayentaError("Invalid Response")
        }
        guard case .bool(let complete)? = answer["complete"] else { throw KayentaError("Missing Complete Status") }
        guard complete else { return nil }
        guard let score = answer[path: "result", "judgeResult", "score", "score"]?.numberValue else {
            throw KayentaError("Missing Score")
        }
        return score
    }

    private static func query(_ pairs: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = pairs.map { URLQueryItem(name: $0.0, value: $0.1) }
        return components.percentEncodedQuery ?? ""
    }
}
