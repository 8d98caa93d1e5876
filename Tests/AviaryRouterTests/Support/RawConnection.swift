import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain blocking TCP connection to 127.0.0.1, for the faults an HTTP client library will not
/// commit: holding a connection idle, half-closing, or leaving in the middle of an answer.
final class RawConnection {
    let descriptor: Int32

    /// Connects to `127.0.0.1:port`; reads give up after `receiveTimeout` seconds.
    init(port: Int, receiveTimeout: Int = 30) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw TestFailure("connect to port \(port): \(reason)")
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes`.
    func send(bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            sent += written
        }
    }

    /// Sends all of `text`.
    func send(_ text: String) throws {
        try send(bytes: Array(text.utf8))
    }

    /// Reads until the peer closes (or `limit` bytes, or the receive timeout).
    func receiveAllBytes(limit: Int = 1 << 20) -> [UInt8] {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }

    /// Reads until the peer closes (or `limit` bytes, or the receive timeout).
    func receiveAll(limit: Int = 1 << 20) -> String {
        String(decoding: receiveAllBytes(limit: limit), as: UTF8.self)
    }

    /// Reads at least `count` bytes (fewer when the peer closes first).
    func receive(atLeast count: Int) -> Int {
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received < count {
            let got = recv(descriptor, &buffer, buffer.count, 0)
            if got <= 0 { break }
            received += got
        }
        return received
    }

    /// Reads one HTTP response whose body has a Content-Length, leaving the connection open.
    func receiveResponse() -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let text = String(decoding: data, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count >= text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) + length {
                    return text
                }
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return text }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// Closes the sending side only (a TCP half-close).
    func shutdownWrite() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Closes the connection at once, with a reset rather than a goodbye, as a crashed client would.
    func abort() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(descriptor)
    }

    func close() {
        Glibc.close(descriptor)
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes connections into its
/// backlog and buffers what is sent, and nothing ever answers — a backend that hangs.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0, listen(descriptor, 128) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else {
            Glibc.close(descriptor)
            throw TestFailure("cannot listen for the silent backend")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    var endpoint: String { "127.0.0.1:\(port)" }

    func close() { Glibc.close(descriptor) }
}
