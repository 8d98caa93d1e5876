import NIOCore
import NIOPosix

/// One frame of hashicorp/yamux, the stream multiplexer go-plugin's net/rpc protocol runs over:
/// a 12-byte header (version 0, type, flags, stream id, length) and, for data frames, `length`
/// bytes. For window updates the length is the window's increase; for pings the ping's id; for
/// go-away the reason.
struct YamuxFrame: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        case data = 0
        case windowUpdate = 1
        case ping = 2
        case goAway = 3
    }
    struct Flags: OptionSet, Equatable, Sendable {
        let rawValue: UInt16
        static let syn = Flags(rawValue: 1)
        static let ack = Flags(rawValue: 2)
        static let fin = Flags(rawValue: 4)
        static let rst = Flags(rawValue: 8)
    }

    var kind: Kind
    var flags: Flags
    var streamID: UInt32
    /// The header's length field: the payload's size for data, the value otherwise.
    var length: UInt32
    var payload: [UInt8] = []

    static let headerSize = 12

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(streamID)
        buffer.writeInteger(length)
        buffer.writeBytes(payload)
    }
}

/// Cuts the connection's bytes into yamux frames.
struct YamuxFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = YamuxFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= YamuxFrame.headerSize,
            let version: UInt8 = buffer.getInteger(at: buffer.readerIndex),
            let type: UInt8 = buffer.getInteger(at: buffer.readerIndex + 1),
            let flags: UInt16 = buffer.getInteger(at: buffer.readerIndex + 2),
            let streamID: UInt32 = buffer.getInteger(at: buffer.readerIndex + 4),
            let length: UInt32 = buffer.getInteger(at: buffer.readerIndex + 8)
        else { return .needMoreData }
        guard version == 0 else { throw GoPluginError.protocolViolation("yamux frame of version \(version), not 0") }
        guard let kind = YamuxFrame.Kind(rawValue: type) else {
            throw GoPluginError.protocolViolation("yamux frame of unknown type \(type)")
        }
        let payloadSize = kind == .data ? Int(length) : 0
        guard buffer.readableBytes >= YamuxFrame.headerSize + payloadSize else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: YamuxFrame.headerSize)
        let payload = buffer.readBytes(length: payloadSize) ?? []
        context.fireChannelRead(
            wrapInboundOut(
                YamuxFrame(
                    kind: kind, flags: .init(rawValue: flags), streamID: streamID, length: length, payload: payload)))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Hands each decoded frame, in order, to the session's pump.
private final class YamuxFrameForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = YamuxFrame
    let frames: AsyncStream<YamuxFrame>.Continuation

    init(frames: AsyncStream<YamuxFrame>.Continuation) { self.frames = frames }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        frames.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        frames.finish()
        context.close(promise: nil)
    }
}

/// The client side of a yamux session (what go-plugin's `yamux.Client` is): opens streams with
/// odd ids, answers the server's keep-alive pings, and keeps each stream's send window. What
/// arrives on a stream is buffered whole, and its window given back at once, so a stream the
/// caller does not read (the plugin's stdout) never blocks the others.
actor YamuxSession {
    /// Yamux's initial (and default maximum) window per stream.
    static let initialWindow: UInt32 = 256 * 1024

    private struct Stream {
        var received: [UInt8] = []
        /// Takes what arrives instead of `received` (a stream nobody reads, such as the plugin's stderr).
        var sink: (@Sendable ([UInt8]) -> Void)?
        var sendWindow: UInt32 = YamuxSession.initialWindow
        var remoteClosed = false
        var reset = false
        var readers: [CheckedContinuation<Void, Never>] = []
        var writers: [CheckedContinuation<Void, Never>] = []
    }

    private let channel: Channel
    private var streams: [UInt32: Stream] = [:]
    private var nextStreamID: UInt32 = 1
    private var closedReason: String?

    /// Connects to `address` (go-plugin's `unix` path or `tcp` host:port) and starts the session.
    static func connect(network: String, address: String) async throws -> YamuxSession {
        let (frames, continuation) = AsyncStream.makeStream(of: YamuxFrame.self)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(YamuxFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(YamuxFrameForwarder(frames: continuation))
                }
            }
        let channel: Channel
        do {
            switch network {
            case "unix": channel = try await bootstrap.connect(unixDomainSocketPath: address).get()
            case "tcp":
                guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...])
                else { throw GoPluginError.handshake("the address \(address) is not HOST:PORT") }
                channel = try await bootstrap.connect(host: String(address[..<colon]), port: port).get()
            default: throw GoPluginError.handshake("network \(network) is neither unix nor tcp")
            }
        } catch let error as GoPluginError {
            throw error
        } catch {
            throw GoPluginError.connection("cannot connect to the plugin at \(network) \(address): \(error)")
        }
        let session = YamuxSession(channel: channel)
        Task { [weak session] in
            for await frame in frames { await session?.receive(frame) }
            await session?.close(reason: "the plugin closed the connection")
        }
        return session
    }

    private init(channel: Channel) { self.channel = channel }

    /// Opens a stream (a window update with SYN, as yamux does) and returns its id. With `sink`,
    /// what arrives on it is handed over as it comes and not kept for `read`.
    func openStream(sink: (@Sendable ([UInt8]) -> Void)? = nil) throws -> UInt32 {
        if let closedReason { throw GoPluginError.connection(closedReason) }
        let id = nextStreamID
        nextStreamID += 2
        streams[id] = Stream(sink: sink)
        send(YamuxFrame(kind: .windowUpdate, flags: .syn, streamID: id, length: 0))
        return id
    }

    /// Writes `bytes` on stream `id`, waiting for window when the peer has not read enough.
    func write(_ bytes: [UInt8], on id: UInt32) async throws {
        var offset = 0
        while offset < bytes.count {
            if let closedReason { throw GoPluginError.connection(closedReason) }
            guard let stream = streams[id], !stream.reset else {
                throw GoPluginError.connection("stream \(id) was reset")
            }
            if stream.sendWindow == 0 {
                await withCheckedContinuation { streams[id]?.writers.append($0) }
                continue
            }
            let size = min(bytes.count - offset, Int(stream.sendWindow))
            streams[id]?.sendWindow -= UInt32(size)
            send(
                YamuxFrame(
                    kind: .data, flags: [], streamID: id, length: UInt32(size),
                    payload: Array(bytes[offset..<offset + size])))
            offset += size
        }
    }

    /// What has arrived on stream `id` since the last read, waiting until something has.
    func read(from id: UInt32) async throws -> [UInt8] {
        while true {
            guard let stream = streams[id] else { throw GoPluginError.connection("stream \(id) is not open") }
            if !stream.received.isEmpty {
                streams[id]?.received = []
                return stream.received
            }
            if stream.reset { throw GoPluginError.connection("the plugin reset stream \(id)") }
            if stream.remoteClosed { throw GoPluginError.connection("the plugin closed stream \(id)") }
            if let closedReason { throw GoPluginError.connection(closedReason) }
            await withCheckedContinuation { streams[id]?.readers.append($0) }
        }
    }

    /// Closes the connection; every waiting read and write fails with `reason`.
    func close(reason: String) {
        guard closedReason == nil else { return }
        closedReason = reason
        for id in streams.keys { wake(id) }
        channel.close(promise: nil)
    }

    var isClosed: Bool { closedReason != nil }

    private func receive(_ frame: YamuxFrame) {
        switch frame.kind {
        case .ping:
            if frame.flags.contains(.syn) {
                send(YamuxFrame(kind: .ping, flags: .ack, streamID: 0, length: frame.length))
            }
        case .goAway:
            close(reason: "the plugin ended the session (yamux go-away \(frame.length))")
        case .windowUpdate, .data:
            guard streams[frame.streamID] != nil else {
                // A stream the plugin opened: go-plugin's net/rpc client side never needs one.
                if frame.flags.contains(.syn) {
                    send(YamuxFrame(kind: .windowUpdate, flags: .rst, streamID: frame.streamID, length: 0))
                }
                return
            }
            if frame.kind == .windowUpdate {
                streams[frame.streamID]?.sendWindow += frame.length
            } else if !frame.payload.isEmpty {
                if let sink = streams[frame.streamID]?.sink {
                    sink(frame.payload)
                } else {
                    streams[frame.streamID]?.received += frame.payload
                }
                send(
                    YamuxFrame(
                        kind: .windowUpdate, flags: [], streamID: frame.streamID, length: UInt32(frame.payload.count)))
            }
            if frame.flags.contains(.fin) { streams[frame.streamID]?.remoteClosed = true }
            if frame.flags.contains(.rst) { streams[frame.streamID]?.reset = true }
            wake(frame.streamID)
        }
    }

    private func wake(_ id: UInt32) {
        guard let stream = streams[id] else { return }
        streams[id]?.readers = []
        streams[id]?.writers = []
        for waiter in stream.readers + stream.writers { waiter.resume() }
    }

    private func send(_ frame: YamuxFrame) {
        var buffer = channel.allocator.buffer(capacity: YamuxFrame.headerSize + frame.payload.count)
        frame.write(to: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }
}
