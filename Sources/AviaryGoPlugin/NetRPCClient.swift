/// A client of Go's net/rpc over one yamux stream, with net/rpc's gob codec: each call sends a
/// `Request{ServiceMethod, Seq}` and the argument; the server answers a
/// `Response{ServiceMethod, Seq, Error}` and the reply (a placeholder when `Error` is set). One gob
/// encoder and one decoder live as long as the stream, so each type is described once.
///
/// As Go's `rpc.Client`, calls are sent one after the other but need not wait for each other's
/// answers: the server runs each in its own goroutine, and one reader hands each answer to the call
/// of its `Seq`, in whatever order they come. A slow call holds no other.
public actor NetRPCClient {
    private let session: YamuxSession
    private let stream: UInt32
    private var encoder = GobEncoder()
    private var decoder = GobDecoder()
    private var inbound: [UInt8] = []
    private var sequence: UInt64 = 0
    /// A request is being written (a write may wait for window, and requests must not interleave).
    private var writing = false
    private var writers: [CheckedContinuation<Void, Never>] = []
    /// Calls sent and not yet answered, and the answers read before their call asked for them.
    private var outstanding: Set<UInt64> = []
    private var waiting: [UInt64: CheckedContinuation<GobValue, any Error>] = [:]
    private var answered: [UInt64: Result<GobValue, any Error>] = [:]
    private var reading = false
    /// Why the stream can no longer be read (every call after it fails with this).
    private var failure: (any Error)?

    init(session: YamuxSession, stream: UInt32) {
        self.session = session
        self.stream = stream
    }

    static let requestType = GobType.structure(
        name: "Request", fields: [GobField("ServiceMethod", .string), GobField("Seq", .uint)])

    /// Calls `method` (`Service.Method`) with `argument`, described as `type`, and returns the reply.
    /// A call the server answers with an error throws `GoPluginError.remote` with its text.
    /// `taken` runs when the request is about to be written, after the requests made before it: a
    /// bound on the server's answer starts there.
    public func call(
        _ method: String, _ argument: GobValue, as type: GobType, taken: @Sendable () -> Void = {}
    ) async throws -> GobValue {
        while writing { await withCheckedContinuation { writers.append($0) } }
        if let failure { throw failure }
        writing = true
        let seq = sequence
        sequence += 1
        do {
            defer {
                writing = false
                if !writers.isEmpty { writers.removeFirst().resume() }
            }
            // Encoded with a copy: an argument that does not fit `type` leaves the encoder as it was,
            // not holding the request's type as sent when it never went.
            var next = encoder
            var bytes = try next.encode(
                .structure(["ServiceMethod": .string(method), "Seq": .uint(seq)]), as: Self.requestType)
            bytes += try next.encode(argument, as: type)
            encoder = next
            taken()
            outstanding.insert(seq)
            do {
                try await session.write(bytes, on: stream)
            } catch {
                // Part of the request may have gone: the server can no longer find where the next
                // one starts, so no later call is written to this stream.
                failure = failure ?? error
                throw error
            }
        } catch {
            outstanding.remove(seq)
            throw error
        }
        if !reading {
            reading = true
            Task { await self.readAnswers() }
        }
        return try await withCheckedThrowingContinuation { continuation in
            if let answer = answered.removeValue(forKey: seq) {
                continuation.resume(with: answer)
            } else if let failure {
                continuation.resume(throwing: failure)
            } else {
                waiting[seq] = continuation
            }
        }
    }

    /// Reads answers while calls wait for them, and gives each to its call. A stream that cannot be
    /// read (the session closed, or an answer that breaks net/rpc) fails every call still waiting.
    private func readAnswers() async {
        defer { reading = false }
        while !outstanding.isEmpty {
            do {
                let header = try await nextValue()
                let reply = try await nextValue()
                guard case .structure(let fields) = header else {
                    throw GoPluginError.protocolViolation("net/rpc answered with \(header), not a Response")
                }
                let seq: UInt64 = if case .uint(let value)? = fields["Seq"] { value } else { 0 }
                guard outstanding.remove(seq) != nil else {
                    throw GoPluginError.protocolViolation("net/rpc answered call \(seq), which was not asked")
                }
                let answer: Result<GobValue, any Error>
                if case .string(let message)? = fields["Error"], !message.isEmpty {
                    let method = if case .string(let name)? = fields["ServiceMethod"] { name } else { "a call" }
                    answer = .failure(GoPluginError.remote(method: method, message: message))
                } else {
                    answer = .success(reply)
                }
                if let continuation = waiting.removeValue(forKey: seq) {
                    continuation.resume(with: answer)
                } else {
                    answered[seq] = answer
                }
            } catch {
                failure = error
                outstanding = []
                let calls = waiting
                waiting = [:]
                for continuation in calls.values { continuation.resume(throwing: error) }
                return
            }
        }
    }

    /// Whether the stream broke (a read or a write failed): every call fails, and the plugin must
    /// be dispensed again, or started again.
    public var isBroken: Bool { failure != nil }

    /// Bytes read from the stream before this client took it over (after the broker's ack).
    func prepend(_ bytes: [UInt8]) { inbound = bytes + inbound }

    /// The next value on the stream, skipping (and remembering) the type definitions before it.
    private func nextValue() async throws -> GobValue {
        while true {
            if let (message, consumed) = try GobFraming.nextMessage(in: inbound[...]) {
                inbound.removeFirst(consumed)
                if let value = try decoder.decode(message: message) { return value }
                continue
            }
            inbound += try await session.read(from: stream)
        }
    }
}
