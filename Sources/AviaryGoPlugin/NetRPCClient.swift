/// A client of Go's net/rpc over one yamux stream, with net/rpc's gob codec: each call sends a
/// `Request{ServiceMethod, Seq}` and the argument; the server answers a
/// `Response{ServiceMethod, Seq, Error}` and the reply (a placeholder when `Error` is set). One gob
/// encoder and one decoder live as long as the stream, so each type is described once.
///
/// Calls are taken one at a time, in the order they are made.
public actor NetRPCClient {
    private let session: YamuxSession
    private let stream: UInt32
    private var encoder = GobEncoder()
    private var decoder = GobDecoder()
    private var inbound: [UInt8] = []
    private var sequence: UInt64 = 0
    private var busy = false
    private var queue: [CheckedContinuation<Void, Never>] = []

    init(session: YamuxSession, stream: UInt32) {
        self.session = session
        self.stream = stream
    }

    static let requestType = GobType.structure(
        name: "Request", fields: [GobField("ServiceMethod", .string), GobField("Seq", .uint)])

    /// Calls `method` (`Service.Method`) with `argument`, described as `type`, and returns the reply.
    /// A call the server answers with an error throws `GoPluginError.remote` with its text.
    public func call(_ method: String, _ argument: GobValue, as type: GobType) async throws -> GobValue {
        while busy { await withCheckedContinuation { queue.append($0) } }
        busy = true
        defer {
            busy = false
            if !queue.isEmpty { queue.removeFirst().resume() }
        }
        let seq = sequence
        sequence += 1
        var bytes = try encoder.encode(
            .structure(["ServiceMethod": .string(method), "Seq": .uint(seq)]), as: Self.requestType)
        bytes += try encoder.encode(argument, as: type)
        try await session.write(bytes, on: stream)
        let header = try await nextValue()
        let reply = try await nextValue()
        guard case .structure(let fields) = header else {
            throw GoPluginError.protocolViolation("net/rpc answered \(method) with \(header), not a Response")
        }
        if case .string(let message)? = fields["Error"], !message.isEmpty {
            throw GoPluginError.remote(method: method, message: message)
        }
        let answered: UInt64 = if case .uint(let value)? = fields["Seq"] { value } else { 0 }
        guard answered == seq else {
            throw GoPluginError.protocolViolation("net/rpc answered call \(answered) when \(seq) was asked")
        }
        return reply
    }

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
