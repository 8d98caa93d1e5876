import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests: one thread per connection, `Connection: close`.
///
/// The handler decides each answer; `.hang` keeps the connection open without answering,
/// which is what a stuck metrics back end looks like to a client.
public final class LoopbackServer: Sendable {
    public enum Reply: Sendable {
        case respond(status: Int, body: String, contentType: String = "application/json")
        case hang
    }

    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
    }

    public let port: Int
    private let listener: Int32
    private let stopped = Mutex(false)
    private let hanging = Mutex<[Int32]>([])
    private let received = Mutex<[Request]>([])

    /// Every request answered or held so far, in arrival order.
    public var requests: [Request] { received.withLock { $0 } }

    public init(handler: @escaping @Sendable (Request) -> Reply) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let thread = Thread { [self] in self.acceptLoop(handler) }
        thread.start()
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    private func acceptLoop(_ handler: @escaping @Sendable (Request) -> Reply) {
        while !stopped.withLock({ $0 }) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let thread = Thread { [self] in self.serve(client, handler) }
            thread.start()
        }
    }

    private func serve(_ client: Int32, _ handler: @Sendable (Request) -> Reply) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var request: Request?
        while request == nil {
            let count = recv(client, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
            request = Self.parse(data)
        }
        guard let request else {
            close(client)
            return
        }
        received.withLock { $0.append(request) }
        switch handler(request) {
        case .hang:
            hanging.withLock { $0.append(client) }
        case .respond(let status, let body, let contentType):
            let bytes = Array(body.utf8)
            let head =
                "HTTP/1.1 \(status) X\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            let all = Array(head.utf8) + bytes
            var sent = 0
            while sent < all.count {
                let written = all[sent...].withUnsafeBytes {
                    send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if written <= 0 { break }
                sent += written
            }
            close(client)
        }
    }

    private static func parse(_ data: [UInt8]) -> Request? {
        guard let end = data.indices.dropLast(3).first(where: { data[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) })
        else { return nil }
        let head = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard data.count >= end + 4 + length else { return nil }
        return Request(
            method: parts.count > 0 ? String(parts[0]) : "", path: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: String(decoding: data[(end + 4)..<(end + 4 + length)], as: UTF8.self))
    }

    public func stop() {
        stopped.withLock { $0 = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for client in hanging.withLock({ $0 }) { close(client) }
    }
}
