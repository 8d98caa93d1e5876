import AsyncHTTPClient
import AviaryTestSupport

extension SampleApp {
    /// The value of `requests_received_total` on its /metrics: application requests it has read
    /// whole, answered or still held (a `/delay` request counts from its arrival).
    func receivedCount(client: HTTPClient) async throws -> Int {
        let metrics = try await client.get("http://\(endpoint)/metrics").body
        return Int(sampleValue("requests_received_total", in: metrics) ?? 0)
    }
}
