import Foundation

/// The `data` of a Prometheus HTTP API answer, reduced to what a metric condition sees.
///
/// Argo Rollouts turns a vector or a matrix into `[]float64` (every sample of every series, in
/// order) and a scalar into a `float64`; Aviary does the same, so `result[0] >= 0.95` reads the
/// same in both. An empty vector is `[]`: conditions should test `len(result) > 0` first.
public enum PrometheusResult: Sendable, Equatable {
    /// An instant vector's sample values, one per series.
    case vector([Double])
    /// A range matrix's sample values, series after series.
    case matrix([Double])
    /// A scalar.
    case scalar(Double)
    /// A string result.
    case string(String)

    /// The values a condition sees as `result` for a vector or matrix, nil for a scalar or string.
    public var values: [Double]? {
        switch self {
        case .vector(let values), .matrix(let values): values
        case .scalar, .string: nil
        }
    }

    /// The value as Argo prints it in a measurement: `[0.97]`, `[NaN]`, `0.5`.
    public var displayValue: String {
        switch self {
        case .vector(let values), .matrix(let values):
            "[" + values.map(PrometheusResult.format).joined(separator: ",") + "]"
        case .scalar(let value): PrometheusResult.format(value)
        case .string(let text): text
        }
    }

    /// Formats a sample as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, `0.97`, `5`.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Parses a sample string of the HTTP API (`"0.97"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
    public static func parseSample(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }
}

/// Why a Prometheus query produced no result.
public enum PrometheusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Prometheus answered with `"status": "error"`; its own words, e.g. `bad_data: 1:5: parse error: ...`.
    case api(errorType: String, message: String)
    /// The HTTP status was not 2xx and the body was not a Prometheus error.
    case httpStatus(Int, body: String)
    /// The body was not a Prometheus API answer.
    case malformed(String)
    /// The request did not complete (connection refused, timeout).
    case transport(String)
    /// The metric could not be turned into a request (bad address, bad range).
    case invalidRequest(String)

    /// The message that goes into the measurement.
    public var description: String {
        switch self {
        case .api(let errorType, let message): errorType.isEmpty ? message : "\(errorType): \(message)"
        case .httpStatus(let status, let body):
            "Prometheus answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body.prefix(300))")
        case .malformed(let reason): "Prometheus answer is not understood: \(reason)"
        case .transport(let reason): reason
        case .invalidRequest(let reason): reason
        }
    }
}

extension PrometheusResult {
    /// Decodes the body of a `/api/v1/query` or `/api/v1/query_range` answer.
    ///
    /// Prometheus writes errors as JSON with HTTP 400/422/503; those become `.api` with its
    /// own message so a typo in a query shows Prometheus' parse error, not "HTTP 400".
    public static func decode(
        status: Int, body: Data
    ) throws(PrometheusError) -> (result: PrometheusResult, warnings: [String]) {
        let object: [String: Any]
        do {
            guard let decoded = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw PrometheusError.malformed("the body is not a JSON object")
            }
            object = decoded
        } catch let error as PrometheusError {
            if (200..<300).contains(status) { throw error }
            throw PrometheusError.httpStatus(status, body: String(decoding: body, as: UTF8.self))
        } catch {
            if (200..<300).contains(status) { throw PrometheusError.malformed("the body is not JSON") }
            throw PrometheusError.httpStatus(status, body: String(decoding: body, as: UTF8.self))
        }
        let warnings = (object["warnings"] as? [String]) ?? []
        if (object["status"] as? String) == "error" {
            throw PrometheusError.api(
                errorType: object["errorType"] as? String ?? "",
                message: object["error"] as? String ?? "unknown error")
        }
        guard (200..<300).contains(status) else {
            throw PrometheusError.httpStatus(status, body: String(decoding: body, as: UTF8.self))
        }
        guard let data = object["data"] as? [String: Any], let resultType = data["resultType"] as? String else {
            throw PrometheusError.malformed("no data.resultType")
        }
        let result = data["result"]
        switch resultType {
        case "vector":
            guard let series = result as? [[String: Any]] else {
                throw PrometheusError.malformed("vector result is not a list")
            }
            var values: [Double] = []
            for entry in series { values.append(try sample(entry["value"])) }
            return (.vector(values), warnings)
        case "matrix":
            guard let series = result as? [[String: Any]] else {
                throw PrometheusError.malformed("matrix result is not a list")
            }
            var values: [Double] = []
            for entry in series {
                guard let points = entry["values"] as? [Any] else {
                    throw PrometheusError.malformed("matrix series has no values")
                }
                for point in points { values.append(try sample(point)) }
            }
            return (.matrix(values), warnings)
        case "scalar":
            return (.scalar(try sample(result)), warnings)
        case "string":
            guard let pair = result as? [Any], pair.count == 2, let text = pair[1] as? String else {
                throw PrometheusError.malformed("string result is not [time, \"text\"]")
            }
            return (.string(text), warnings)
        default:
            throw PrometheusError.malformed("result type \"\(resultType)\" is not supported")
        }
    }

    private static func sample(_ pair: Any?) throws(PrometheusError) -> Double {
        guard let pair = pair as? [Any], pair.count == 2, let text = pair[1] as? String,
            let value = PrometheusResult.parseSample(text)
        else { throw PrometheusError.malformed("a sample is not [time, \"value\"]") }
        return value
    }
}
