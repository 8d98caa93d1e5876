// aviary-bench-floor: the least an HTTP/1.1 proxy can cost on this machine, to set the router's
// numbers against (bench/router/run with ROUTER=floor). Each thread runs its own epoll(7) loop
// with its own SO_REUSEPORT listener and pool of idle connections to the backends, reads with
// read(2), writes with write(2), and does what the router does to a plain request in its place:
// finds the end of the head and its Content-Length, picks a backend by weight for each request,
// adds X-Forwarded-For and X-Forwarded-Proto, and relays the answer by its Content-Length. An
// answer to a client is held to the end of the loop's turn (one pass over what epoll_wait
// returned), as the router holds its writes.
//
// It is a bound, not a proxy to run: no TLS, HTTP/2, upgrades, chunked bodies, header routes,
// timeouts, statistics or route changes. A request with Transfer-Encoding gets 501, one over
// 16 KiB 431 or 413, an answer with Transfer-Encoding 502, and the connection is closed; an answer
// without Content-Length is taken to have no body.
//
// Usage: aviary-bench-floor --listen HOST:PORT --backend HOST:PORT=WEIGHT... [--threads N]
import AviaryRouter
import CAviaryEpoll
import Glibc

struct Endpoint {
    var address: sockaddr_in
    var weight: Int
}

func fail(_ message: String) -> Never {
    let line = Array("aviary-bench-floor: \(message)\n".utf8)
    _ = write(2, line, line.count)
    exit(2)
}

func parseAddress(_ text: Substring, option: String) -> sockaddr_in {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { fail("\(option) \(text): give HOST:PORT") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else {
        fail("\(option) \(text): the host must be an IPv4 address such as 127.0.0.1")
    }
    return address
}

var listenAddress: sockaddr_in?
var endpoints: [Endpoint] = []
var threads = 1
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
    switch flag {
    case "--listen": listenAddress = parseAddress(Substring(value), option: flag)
    case "--backend":
        let parts = value.split(separator: "=")
        guard parts.count == 2, let weight = Int(parts[1]), weight >= 0 else {
            fail("--backend \(value): give HOST:PORT=WEIGHT, such as 127.0.0.1:8081=90")
        }
        endpoints.append(Endpoint(address: parseAddress(parts[0], option: flag), weight: weight))
    case "--threads":
        guard let count = Int(value), count > 0 else { fail("--threads \(value): give 1 or more") }
        threads = count
    default: fail("unknown option \(flag); use --listen HOST:PORT --backend HOST:PORT=WEIGHT... [--threads N]")
    }
}
guard let listenAddress else { fail("give --listen HOST:PORT") }
guard let schedule = WeightedSchedule(weights: endpoints.map(\.weight)) else {
    fail("--backend: give HOST:PORT=WEIGHT with a weight above 0, and weights summing to 1,000,000 at most")
}

/// One side of an exchange: a client's connection or a backend's.
final class Connection {
    static let capacity = 16384
    let fd: Int32
    let isClient: Bool
    let endpoint: Int
    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    var count = 0
    /// Bytes held for the end of the turn (a client's answers).
    var held: [UInt8] = []
    /// The other side while an exchange runs.
    var peer: Connection?
    /// A backend's answer: the bytes still to relay, or nil until its head is read.
    var remaining: Int?
    var isOpen = true

    init(fd: Int32, isClient: Bool, endpoint: Int = -1) {
        self.fd = fd
        self.isClient = isClient
        self.endpoint = endpoint
    }

    deinit { input.deallocate() }
}

/// Where a head ends (past its blank line) and its Content-Length (0 without one), or nil while
/// the head is incomplete; `chunked` when it has a Transfer-Encoding.
func scanHead(_ bytes: UnsafeMutablePointer<UInt8>, _ count: Int) -> (end: Int, length: Int, chunked: Bool)? {
    var index = 0
    var lineStart = 0
    var length = 0
    var chunked = false
    while index + 1 < count {
        guard bytes[index] == 13, bytes[index + 1] == 10 else {
            index += 1
            continue
        }
        let lineLength = index - lineStart
        if lineLength == 0 { return (index + 2, length, chunked) }
        if matches(bytes + lineStart, lineLength, "content-length:") {
            length = 0
            for offset in lineStart + 15..<index where bytes[offset] >= 48 && bytes[offset] <= 57 {
                length = min(length * 10 + Int(bytes[offset] - 48), Connection.capacity + 1)  // past it is 413
            }
        } else if matches(bytes + lineStart, lineLength, "transfer-encoding:") {
            chunked = true
        }
        index += 2
        lineStart = index
    }
    return nil
}

func matches(_ line: UnsafeMutablePointer<UInt8>, _ length: Int, _ name: StaticString) -> Bool {
    guard length >= name.utf8CodeUnitCount else { return false }
    let expected = name.utf8Start
    for offset in 0..<name.utf8CodeUnitCount where line[offset] | 0x20 != expected[offset] | 0x20 {
        return false
    }
    return true
}

/// Writes all of it, waiting with poll(2) when the socket's buffer is full.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
    var written = 0
    while written < count {
        let result = write(fd, bytes + written, count - written)
        if result > 0 {
            written += result
        } else if result < 0 && (errno == EAGAIN || errno == EINTR) {
            var wanted = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&wanted, 1, 1000)
        } else {
            return false
        }
    }
    return true
}

let forwarded = Array("X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n".utf8)

/// One thread's loop: its listener, its connections, its idle backends.
final class Loop {
    let endpoints: [Endpoint]
    let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
    var listener: Int32 = -1
    var connections: [Connection?] = Array(repeating: nil, count: 1024)
    var idle: [[Connection]]
    var turnHolds: [Connection] = []
    let schedule: WeightedSchedule
    var picks = 0
    let outgoing = UnsafeMutablePointer<UInt8>.allocate(capacity: Connection.capacity * 2)

    init(endpoints: [Endpoint], schedule: WeightedSchedule) {
        self.endpoints = endpoints
        self.schedule = schedule
        idle = Array(repeating: [], count: endpoints.count)
    }

    func listen(on address: sockaddr_in) {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, 4)
        setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &on, 4)
        var address = address
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(listener, 1024) == 0 else {
            fail("--listen: cannot listen there: \(String(cString: strerror(errno))); pick a free port")
        }
        watch(listener)
    }

    func watch(_ fd: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }

    func track(_ connection: Connection) {
        let index = Int(connection.fd)
        if index >= connections.count { connections += Array(repeating: nil, count: index + 1024 - connections.count) }
        connections[index] = connection
        watch(connection.fd)
    }

    func close(_ connection: Connection) {
        guard connection.isOpen else { return }
        connection.isOpen = false
        connections[Int(connection.fd)] = nil
        Glibc.close(connection.fd)
        // Mid-exchange neither side can go on: the backend's answer is cut, or nobody waits for it.
        if let peer = connection.peer {
            connection.peer = nil
            peer.peer = nil
            close(peer)
        }
    }

    /// Answers a client with an error and closes its connection.
    func refuse(_ client: Connection, _ status: String) {
        let answer = Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = writeAll(client.fd, answer, answer.count)
        close(client)
    }

    /// The next backend by weight, a request at a time as the router picks (its `WeightedSchedule`:
    /// 90/10 sends one in ten to the second), with an idle connection to it, or a new one.
    func lease() -> Connection? {
        let chosen = schedule.pick(picks)
        picks &+= 1
        while let connection = idle[chosen].popLast() {
            if connection.isOpen { return connection }
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = endpoints[chosen].address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        noDelay(fd)
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        let connection = Connection(fd: fd, isClient: false, endpoint: chosen)
        track(connection)
        return connection
    }

    /// Sends the client's next complete request, if it has one and no exchange is running.
    func forward(_ client: Connection) {
        guard client.peer == nil else { return }
        guard let head = scanHead(client.input, client.count) else {
            if client.count == Connection.capacity { refuse(client, "431 Request Header Fields Too Large") }
            return
        }
        if head.chunked { return refuse(client, "501 Not Implemented") }
        if head.end + head.length > Connection.capacity { return refuse(client, "413 Content Too Large") }
        guard client.count >= head.end + head.length else { return }
        guard let backend = lease() else { return refuse(client, "502 Bad Gateway") }
        memcpy(outgoing, client.input, head.end - 2)
        var size = head.end - 2
        forwarded.withUnsafeBufferPointer { _ = memcpy(outgoing + size, $0.baseAddress!, $0.count) }
        size += forwarded.count
        memcpy(outgoing + size, client.input + head.end, head.length)
        size += head.length
        let used = head.end + head.length
        if used < client.count { memmove(client.input, client.input + used, client.count - used) }
        client.count -= used
        client.peer = backend
        backend.peer = client
        backend.remaining = nil
        if !writeAll(backend.fd, outgoing, size) { close(client) }
    }

    /// Relays what a backend sent to its client, held for the end of the turn.
    func relay(_ backend: Connection) {
        guard let client = backend.peer else { return close(backend) }
        if backend.remaining == nil {
            guard let head = scanHead(backend.input, backend.count) else {
                if backend.count == Connection.capacity { refuse(client, "502 Bad Gateway") }
                return
            }
            if head.chunked { return refuse(client, "502 Bad Gateway") }
            backend.remaining = head.end + head.length
        }
        let take = min(backend.count, backend.remaining!)
        if client.held.isEmpty { turnHolds.append(client) }
        client.held.append(contentsOf: UnsafeBufferPointer(start: backend.input, count: take))
        backend.remaining! -= take
        let extra = backend.count - take
        backend.count = 0
        guard backend.remaining == 0 else { return }
        backend.peer = nil
        client.peer = nil
        // Bytes past the answer: the connection is out of step, so it is not kept.
        if extra > 0 { close(backend) } else { idle[backend.endpoint].append(backend) }
        forward(client)
    }

    func run() -> Never {
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 256)
        while true {
            let ready = epoll_wait(epoll, events, 256, -1)
            for index in 0..<Int(max(ready, 0)) {
                let fd = events[index].data.fd
                if fd == listener {
                    acceptAll()
                    continue
                }
                guard let connection = connections[Int(fd)] else { continue }
                let result = read(fd, connection.input + connection.count, Connection.capacity - connection.count)
                if result > 0 {
                    connection.count += result
                    if connection.isClient { forward(connection) } else { relay(connection) }
                } else if result == 0 || (errno != EAGAIN && errno != EINTR) {
                    close(connection)
                }
            }
            for client in turnHolds where client.isOpen && !client.held.isEmpty {
                if !client.held.withUnsafeBytes({ writeAll(client.fd, $0.baseAddress!, $0.count) }) { close(client) }
                client.held.removeAll(keepingCapacity: true)
            }
            turnHolds.removeAll(keepingCapacity: true)
        }
    }

    func acceptAll() {
        while true {
            let fd = aviary_accept_nonblocking(listener)
            guard fd >= 0 else { return }
            noDelay(fd)
            track(Connection(fd: fd, isClient: true))
        }
    }
}

func noDelay(_ fd: Int32) {
    var on: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, 4)
}

/// A thread's start: the loop it was given runs (off the main actor, which is the main thread's).
nonisolated func runLoop(_ box: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<Loop>.fromOpaque(box!).takeUnretainedValue().run()
}

signal(SIGPIPE, SIG_IGN)
let loops = (0..<threads).map { _ in Loop(endpoints: endpoints, schedule: schedule) }
for loop in loops { loop.listen(on: listenAddress) }
for loop in loops.dropFirst() {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(loop).toOpaque()
    pthread_create(&thread, nil, runLoop, box)
}
loops[0].run()
