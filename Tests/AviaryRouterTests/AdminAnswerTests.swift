import AsyncHTTPClient
import NIOCore
import Testing

@testable import AviaryRouter

/// The admin endpoint answers unknown paths (which it names) as text a browser will not sniff.
@Suite(.serialized) struct AdminAnswerTests {
    @Test func anUnknownAdminPathIsAnsweredAsUnsniffableText() async throws {
        let router = try await RouterServer()
        do {
            let address = try await router.startAdmin(port: 0)
            let port = try #require(address.port)
            let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/%3Cscript%3Ealert(1)%3C/script%3E")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status == .notFound)
            #expect(response.headers.first(name: "content-type") == "text/plain")
            #expect(response.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(!body.contains("<script>"), "\(body)")
        } catch {
            await router.shutdown()
            throw error
        }
        await router.shutdown()
    }
}
