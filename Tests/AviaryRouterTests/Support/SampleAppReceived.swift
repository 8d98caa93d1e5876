import AsyncHTTPClient

extension SampleApp {
    /// The value of `requests_received_total` on its /metrics: application requests it has read
    /// whole, answered or still held (a `/delay` request counts from its arrival).
    func receivedCount(client: HTTPClient) async throws -> Int {
        let metrics = try await client.get("http://\(endpoint)/metrics").body
        for line in metrics.split(separator: "\n") where line.hasPrefix("requests_received_total ") {
            return Int(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }
}
