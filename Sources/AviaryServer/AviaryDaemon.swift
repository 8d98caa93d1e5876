import AviaryCore
import AviaryDashboard
import AviaryLocal
import AviaryMetrics
import AviaryPlatform
import AviaryStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A loop run as a `Service` of the daemon's `ServiceGroup`, ending on graceful shutdown.
struct LoopService: Service {
    let name: String
    let body: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await body()
        }
    }
}

/// `aviary serve`: the store, the platform (local, or simulated for benchmarks), the router, the
/// controller and the HTTP API, wired together.
public struct AviaryDaemon: Sendable {
    /// The configuration it runs with.
    public let configuration: ServerConfiguration
    /// The state store.
    public let store: AviaryStore
    /// The platform rollouts run on (`--platform`).
    public let platform: any Platform
    /// The controller loop.
    public let controller: Controller
    /// The daemon's metrics.
    public let metrics: DaemonMetrics
    /// The AnalysisRuns in progress.
    public let analysis: AnalysisCoordinator
    /// What the platform runs apart from the daemon (the local platform's router), if anything.
    public let dataPlane: (any DataPlane)?
    /// The Prometheus the daemon runs (`--prometheus`), if any.
    public let prometheus: PrometheusSupervisor?
    /// Sends what the notification outbox holds.
    let notificationDispatcher: NotificationDispatcher
    /// Argo's metric plugins, started as metrics need them.
    let metricPlugins: ArgoPluginHost
    /// Argo's step plugins, started when a plugin step runs.
    let stepPlugins: ArgoPluginHost
    let logger: Logger

    /// Opens the state directory and adopts what an earlier daemon left running; starts nothing yet.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "aviary.serve")) async throws {
        try configuration.validate()
        Heap.limitArenas(to: 2)
        self.configuration = configuration
        self.logger = logger
        let store = try AviaryStore(stateDirectory: configuration.stateDirectory)
        self.store = store
        if let warning = ServerConfiguration.stateDirectoryWarning(configuration.stateDirectory) {
            logger.warning("\(warning)")
        }
        let logDirectory = (configuration.stateDirectory as NSString).appendingPathComponent("logs")
        switch configuration.platform {
        case .local:
            let local = try LocalPlatform(
                stateStore: StorePlatformState(store: store, key: StorePlatformState.platformKey),
                logDirectory: logDirectory, inheritEnvironment: configuration.podEnvironmentInherited,
                serviceAddressRange: try configuration.serviceAddressRange.map { try ServiceAddressRange(parsing: $0) },
                configuration: { kind, namespace, name in
                    try store.configurationValues(kind.resourceKind, namespace: namespace, name: name)
                }, logger: logger)
            platform = local
            let router = RouterSupervisor(
                command: configuration.routerCommand,
                tablePath: (configuration.stateDirectory as NSString).appendingPathComponent("router-table.json"),
                stateStore: StorePlatformState(store: store, key: StorePlatformState.routerKey),
                logPath: (logDirectory as NSString).appendingPathComponent("router.log"), logger: logger)
            dataPlane = LocalDataPlane(router: router, platform: local)
        case .simulated:
            platform = SimulatedPlatform()
            dataPlane = nil
        case .kubernetes:
            // The API server holds the state there: no state directory, no router (`KubernetesDaemon`).
            throw ServerConfiguration.Invalid(
                description: "--platform kubernetes runs without a state directory; start it with KubernetesDaemon")
        }
        metrics = DaemonMetrics()
        let stateDirectory = configuration.stateDirectory
        prometheus = configuration.prometheusListen.map {
            PrometheusSupervisor(
                listen: $0, stateDirectory: stateDirectory,
                logPath: (logDirectory as NSString).appendingPathComponent("prometheus.log"),
                token: configuration.token, interval: configuration.prometheusInterval,
                logger: logger)
        }
        let pods = platform
        var providers = MetricProviders(
            defaultPrometheusAddress: prometheus?.url,
            discoveredPods: { Set(await pods.pods().filter(\.isReady).map(\.address)) })
        // Datadog's keys and the other providers' profiles: an applied Secret, else the entry of secrets.yaml of that name.
        providers.secretSource = "apply the Secret (aviary apply -f), or add it to secrets.yaml in the state directory"
        providers.secret = { [store] namespace, name in
            if let values = try? store.configurationValues(.secret, namespace: namespace, name: name) { return values }
            return (try? SecretsFile.load(stateDirectory: stateDirectory))?.secrets[name]
        }
        // Argo's metric plugins: the ConfigMap argo-rollouts-config applied to the daemon lists them.
        let pluginBin = (stateDirectory as NSString).appendingPathComponent("plugin-bin")
        metricPlugins = ArgoPluginHost.reading(
            .metricProvider, store: store, namespace: "default", binDirectory: pluginBin, logger: logger)
        stepPlugins = ArgoPluginHost.reading(
            .step, store: store, namespace: "default", binDirectory: pluginBin, logger: logger)
        providers.metricPlugins = metricPlugins
        analysis = AnalysisCoordinator(
            store: store, metrics: metrics,
            provider: providers,
            secrets: { namespace, names in
                var secrets: SecretStore
                do {
                    secrets = try SecretsFile.load(stateDirectory: stateDirectory)
                } catch {
                    // The message names the file and the key, never a value.
                    logger.error("\(error); secretKeyRef arguments cannot be resolved until it is fixed")
                    secrets = SecretStore()
                }
                // An applied Secret of the run's namespace wins over secrets.yaml, as on Kubernetes.
                for name in names {
                    if let values = try? store.configurationValues(.secret, namespace: namespace, name: name) {
                        secrets.secrets[name] = values
                    }
                }
                secrets.remedy = SecretStore.localRemedy
                return secrets
            }, logger: logger)
        let notifications = NotificationSettings(store: store)
        notificationDispatcher = NotificationDispatcher(
            outbox: store, settings: notifications, metrics: metrics, retryFor: configuration.notificationRetryFor,
            logger: logger)
        controller = Controller(
            store: store, platform: platform, metrics: metrics, analysis: analysis,
            serviceAddress: configuration.serviceAddress, servicePortOffset: configuration.servicePortOffset,
            notifications: notifications, stepPlugins: ArgoStepPlugins(host: stepPlugins), logger: logger)
    }

    /// Runs until SIGTERM or SIGINT; then stops pods and the router unless `leaveRunning`.
    /// `onListening` gets the API's address once it accepts connections.
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        try await dataPlane?.startOrAdopt()
        // Metric plugins a killed daemon left running are stopped (they are started again as needed).
        await metricPlugins.stopOrphans()
        await stepPlugins.stopOrphans()
        let controller = self.controller
        let platform = self.platform
        await platform.setChangeHandler { Task { await controller.enqueueAllRollouts() } }
        await analysis.setRolloutChanged { key in Task { await controller.enqueue(key) } }
        try await analysis.resumeStoredRuns()

        let changed: @Sendable (ResourceKey) -> Void = { key in Task { await controller.enqueue(key) } }
        let routes = RouteContext(
            resources: ResourceAPI(
                store: store,
                servicePlacement: LocalPlatformRules.ServicePlacement(
                    portsMustDiffer: configuration.platform == .local && configuration.serviceAddressRange == nil,
                    portOffset: configuration.servicePortOffset,
                    privilegedBelow: configuration.platform == .local && configuration.routerCommand != nil
                        ? LocalPlatformRules.ServicePlacement.privilegedBelowForThisProcess() : 0),
                changed: changed),
            operations: RolloutOperations(store: store, changed: changed), platform: platform, metrics: metrics,
            store: store,
            census: { [self] in
                try await MemoryCensus.take(
                    store: store, controller: controller, metrics: metrics, analysis: analysis, platform: platform)
            }, notifications: notificationDispatcher.settings, dataPlane: dataPlane)
        var loops = [LoopService(name: "platform") { await platform.run(tickInterval: .milliseconds(100)) }]
        // Prometheus needs the API's address (the port may be picked at start), so it starts once the API listens.
        let (listening, listened) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        if let prometheus {
            loops.append(
                LoopService(name: "prometheus") {
                    var addresses = listening.makeAsyncIterator()
                    guard let address = await addresses.next() else { return }
                    do {
                        try await prometheus.start(daemonURL: address)
                    } catch {
                        logger.error("\(error)")
                        return
                    }
                    await prometheus.supervise()
                })
        }
        if let dataPlane { loops.append(LoopService(name: "data plane") { await dataPlane.supervise() }) }
        loops.append(LoopService(name: "controller") { await controller.run() })
        let dispatcher = notificationDispatcher
        loops.append(LoopService(name: "notifications") { await dispatcher.run() })
        let loopback = LoopbackAPI()
        let dashboard = Dashboard(
            mode: configuration.dashboard, token: configuration.token, sessions: DashboardSessions(),
            source: { loopback.dashboardSource })
        let application = Application(
            router: makeRouter(routes, token: configuration.token, dashboard: dashboard),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "aviary"),
            services: loops,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let host =
                    configuration.host == "0.0.0.0" || configuration.host == "::" ? "127.0.0.1" : configuration.host
                listened.yield("http://\(host):\(port)")
                loopback.listening(
                    at: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)", token: configuration.token)
                onListening("http://\(configuration.host):\(port)")
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await prometheus?.stop()
        await analysis.cancelAll()
        await metricPlugins.stopAll()
        await stepPlugins.stopAll()
        if !configuration.leaveRunning {
            await platform.stopAllPods(grace: 5)
            await dataPlane?.stop()
        }
    }
}
