import AsyncHTTPClient
import Testing

@testable import AviaryRouter

/// A chunked request body that turns malformed after the router has begun forwarding it to a
/// pod: the client gets 400 with the reason, the half-sent upstream exchange is closed rather
/// than pooled (its next request would land inside the broken body), the pod never sees a
/// whole request, and the next request goes through.
@Suite("Router: a malformed chunked body mid-forward", .serialized)
struct RouterMalformedBodyTests {
    @Test(
        "a malformed chunk after a good one gets 400 and closes the upstream exchange",
        arguments: [
            "zz\r\n",  // a chunk size that is not hexadecimal
            "3\r\nabcXY\r\n",  // chunk data longer than its size (no CRLF after it)
        ])
    func malformedChunk(_ malformed: String) async throws {
        try await withAppBehindRouter(limits: "{upstreamIdleTimeoutMs: 600000}") { client, app, port, router in
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            try connection.send(
                "POST /delay?ms=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            // The router is forwarding: the head and the first chunk went to the pod.
            try await waitUntil("the router to open the upstream connection") {
                router.stats.upstreamConnections == 1
            }
            try connection.send(malformed)
            let answer = connection.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request"), "\(answer.prefix(200))")
            #expect(answer.contains("malformed request body"), "\(answer.prefix(200))")
            #expect(answer.contains("Connection: close"), "\(answer.prefix(200))")
            // Only closing the exchange brings the count to 0: the idle timeout is 10 minutes.
            try await waitUntil("the half-sent upstream connection to close") {
                router.stats.upstreamConnections == 0
            }
            #expect(try await app.receivedCount(client: client) == 0, "the pod never got a whole request")
            let next = try await client.get("http://127.0.0.1:\(port)/")
            #expect(next.status == 200)
            #expect(try await app.receivedCount(client: client) == 1)
        }
    }
}
