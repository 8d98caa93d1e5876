import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The sample app's HTTP/1.1 server on 127.0.0.1:`PORT`.
enum SampleServer {
    /// Serves until SIGTERM or SIGINT, then closes the listener and its connections and returns.
    ///
    /// Prints `aviary-sample-app listening on 127.0.0.1:PORT` once the port is bound, so a
    /// caller that asked for port 0 learns the real one.
    static func run(_ configuration: SampleAppConfiguration) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let metrics = SampleMetrics(errorPartsPerMillion: configuration.errorPartsPerMillion)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        SampleHTTPHandler(configuration: configuration, metrics: metrics))
                }
            }
            .bind(host: "127.0.0.1", port: configuration.port)
            .get()

        let signalQueue = DispatchQueue(label: "aviary-sample-app.signals")
        let sources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
            source.setEventHandler { server.close(promise: nil) }
            source.resume()
            return source
        }
        let port = server.localAddress?.port ?? configuration.port
        FileHandle.standardOutput.write(Data("aviary-sample-app listening on 127.0.0.1:\(port)\n".utf8))

        try await server.closeFuture.get()
        sources.forEach { $0.cancel() }
        try await group.shutdownGracefully()
    }
}
