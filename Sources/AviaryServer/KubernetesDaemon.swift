import AviaryCore
import AviaryDashboard
import AviaryKubernetes
import AviaryKubernetesPlatform
import AviaryMetrics
import AviaryPlatform
import AviaryStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// What `aviary serve --platform kubernetes` needs beyond the platform: which cluster, which
/// namespace, which controller instance, and the Lease that elects the one replica that writes.
public struct KubernetesConfiguration: Sendable, Equatable {
    /// `--kubeconfig`: a kubeconfig file; nil uses `KUBECONFIG`, `~/.kube/config`, then in-cluster.
    public var kubeconfig: String?
    /// `--context`: a context of the kubeconfig; nil uses its current context.
    public var context: String?
    /// `--namespace`: the only namespace reconciled; nil reconciles all.
    public var namespace: String?
    /// `--instance-id`: reconcile only Rollouts labelled `argo-rollouts.argoproj.io/controller-instance=ID`
    /// (without it, only those with no such label), as Argo's controller.
    public var instanceID: String?
    /// The namespace of the leader-election Lease (nil: the kubeconfig context's or pod's namespace).
    public var leaseNamespace: String?
    /// The Lease's name.
    public var leaseName: String
    /// This replica's identity in the Lease (default: host name and process id).
    public var identity: String
    /// How long a Lease lasts without renewal before another replica takes over.
    public var leaseDuration: Duration
    /// The SMI TrafficSplit version written (`v1alpha1` ... `v1alpha4`).
    public var smiVersion: String
    /// `--istio-api-version`: the `networking.istio.io` version of VirtualServices and DestinationRules.
    public var istioVersion = "v1alpha3"
    /// `--traefik-api-group`: the API group of TraefikServices.
    public var traefikGroup = "traefik.io"
    /// `--traefik-api-version`: their version (Argo's flag also takes `GROUP/VERSION`; the part
    /// after the last slash is used).
    public var traefikVersion = "v1alpha1"
    /// `--ambassador-api-version`: `GROUP/VERSION` of Ambassador's Mappings (a bare version is in
    /// `getambassador.io`).
    public var ambassadorVersion = "getambassador.io/v2"
    /// `--apisix-api-version`: `GROUP/VERSION` of ApisixRoutes.
    public var apisixVersion = "apisix.apache.org/v2"
    /// `--appmesh-crd-version`: the `appmesh.k8s.aws` version.
    public var appMeshVersion = "v1beta2"
    /// `--aws-verify-target-group`: check ALB weights against AWS's target groups (with the AWS key,
    /// region and endpoint of the environment) and hold a setWeight step until they are in place.
    public var verifyTargetGroup = false
    /// `--alb-tag-key-resource-id`: the target-group tag naming an Ingress's Service.
    public var albResourceIDTag = ALBVerification.defaultResourceIDTag
    /// `--aws-target-group-binding-api-version`: `GROUP/VERSION` of TargetGroupBindings.
    public var targetGroupBindingVersion = "elbv2.k8s.aws/v1beta1"

    var trafficVersions: TrafficResourceVersions {
        TrafficResourceVersions(
            istioVersion: istioVersion, traefikGroup: traefikGroup,
            traefikVersion: String(traefikVersion.split(separator: "/").last ?? "v1alpha1"),
            ambassadorVersion: ambassadorVersion, apisixVersion: apisixVersion, appMeshVersion: appMeshVersion,
            targetGroupBindingVersion: targetGroupBindingVersion)
    }
    /// `--listen`'s host: where `/healthz`, `/readyz` and `/metrics` are served.
    public var host: String
    /// `--listen`'s port (0: one the system picks).
    public var port: Int
    /// `--token`: the bearer token those endpoints require (required off loopback).
    public var token: String?
    /// What the web dashboard at `/` offers (`--dashboard`, default on).
    public var dashboard: DashboardMode = .on
    /// How long a notification its receiver does not take is retried (`--notification-retry-for`, seconds).
    public var notificationRetryFor: Double = 3600
    /// `--qps`: the controller's requests to the API server per second on average, and `--burst`: how
    /// many may go at once above that average. Argo's controller defaults, 40 and 80. The Lease has its
    /// own client and limit, so a controller at its limit still renews in time.
    public var qps: Double = 40
    public var burst: Int = 80
    /// `--rollout-threads`: rollouts reconciled at once (Argo's flag, default 10). Each write waits for
    /// its watch event, so this, with `--qps`, sets how fast a large first sync goes.
    public var rolloutThreads: Int = 10
    /// `--rollout-resync`: seconds between the controller's forced full passes, which reconcile every
    /// rollout whether or not anything it reads changed (Argo's flag and default, 900). The informers'
    /// events and the 5-second resync's change stamps catch every change in between; at 10,000
    /// rollouts a full pass costs several seconds of CPU.
    public var rolloutResync: Double = 900

    /// The namespace of the global notification ConfigMap and Secret: the one reconciled with
    /// `--namespace`, else the controller's own (the Lease's), as Argo reads them from its namespace.
    func notificationNamespace(leaseNamespace: String) -> String { namespace ?? leaseNamespace }

    /// A configuration; see the properties.
    public init(
        kubeconfig: String? = nil, context: String? = nil, namespace: String? = nil, instanceID: String? = nil,
        leaseNamespace: String? = nil, leaseName: String = "aviary-controller-lock",
        identity: String = "\(ProcessInfo.processInfo.hostName)_\(getpid())", leaseDuration: Duration = .seconds(15),
        smiVersion: String = "v1alpha1", host: String = "127.0.0.1", port: Int = 7480, token: String? = nil
    ) {
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
        self.instanceID = instanceID
        self.leaseNamespace = leaseNamespace
        self.leaseName = leaseName
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.smiVersion = smiVersion
        self.host = host
        self.port = port
        self.token = token
    }

    /// The SMI versions Argo's controller writes.
    public static let smiVersions = ["v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"]

    /// Checks the flags: the client's limits and the resync must be usable, `--smi-api-version` one
    /// Argo supports.
    public func validate() throws(ServerConfiguration.Invalid) {
        try ServerConfiguration.checkNotificationRetryFor(notificationRetryFor)
        guard qps.isFinite, qps > 0 else {
            throw ServerConfiguration.Invalid(
                description: "--qps \(qps): must be a number of requests per second above 0, such as 40")
        }
        guard burst >= 1 else {
            throw ServerConfiguration.Invalid(description: "--burst \(burst): must be at least 1, such as 80")
        }
        guard rolloutResync.isFinite, rolloutResync >= 5 else {
            throw ServerConfiguration.Invalid(
                description: "--rollout-resync \(rolloutResync): must be at least 5 seconds, such as 900")
        }
        guard (1...1000).contains(rolloutThreads) else {
            throw ServerConfiguration.Invalid(
                description: "--rollout-threads \(rolloutThreads): must be from 1 to 1000, such as 10")
        }
        let binding = targetGroupBindingVersion.split(separator: "/", omittingEmptySubsequences: false)
        guard binding.count == 2, binding.allSatisfy({ !$0.isEmpty }) else {
            throw ServerConfiguration.Invalid(
                description: "--aws-target-group-binding-api-version \(targetGroupBindingVersion): must be "
                    + "GROUP/VERSION, such as elbv2.k8s.aws/v1beta1 (or eks.amazonaws.com/v1 on EKS Auto Mode)")
        }
        guard Self.smiVersions.contains(smiVersion) else {
            throw ServerConfiguration.Invalid(
                description: "--smi-api-version \(smiVersion) is not supported; use one of "
                    + Self.smiVersions.joined(separator: ", "))
        }
    }
}

/// `aviary serve --platform kubernetes`: the same controller and analysis coordinator as the local
/// daemon, over Argo's resources on an API server (`KubernetesResources`) and the Kubernetes
/// platform. Informers run on every replica (a standby has a warm cache); only the holder of the
/// Lease reconciles and writes. Every replica serves `/healthz`, `/readyz` and `/metrics` on
/// `--listen` (`makeControllerRouter`).
public struct KubernetesDaemon: Sendable {
    /// The configuration it runs with.
    public let configuration: KubernetesConfiguration
    let client: KubernetesClient
    /// The Lease's own client: its renewals never wait in a queue behind the controller's requests
    /// (with 1,000 rollouts reconciling at once they did, past the renew deadline, and the leader
    /// kept losing the Lease it was busy using).
    let leaseClient: KubernetesClient
    let resources: KubernetesResources
    let platform: KubernetesPlatform
    let metrics: DaemonMetrics
    /// Argo's notification ConfigMap and Secret as the rollouts' namespaces see them.
    let notifications: NotificationSettings
    let health = ControllerHealth()
    let leaseNamespace: String
    /// Argo's metric plugins (the controller namespace's `argo-rollouts-config`), started as
    /// metrics need them and kept across leadership terms.
    let metricPlugins: ArgoPluginHost
    /// Argo's traffic router plugins (`trafficRouterPlugins` of the same ConfigMap), started when a
    /// rollout's split first goes through one.
    let trafficRouterPlugins: ArgoPluginHost
    /// Argo's step plugins (`stepPlugins` of the same ConfigMap), started when a plugin step runs.
    let stepPlugins: ArgoPluginHost
    let logger: Logger

    /// Loads the kubeconfig and checks that the API server answers and serves Rollouts; the error
    /// (`KubernetesStartError`) is one line naming the server and the cause.
    public init(
        configuration: KubernetesConfiguration, logger: Logger = Logger(label: "aviary.serve")
    ) async throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let clientConfiguration: ClientConfiguration
        do {
            let environment = ProcessInfo.processInfo.environment
            if configuration.kubeconfig == nil, environment["KUBECONFIG"] == nil,
                !FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.kube/config"),
                environment["KUBERNETES_SERVICE_HOST"] != nil
            {
                clientConfiguration = try ClientConfiguration.inCluster()
            } else {
                clientConfiguration = try ClientConfiguration.fromKubeconfig(
                    explicitPath: configuration.kubeconfig, context: configuration.context)
            }
        } catch {
            throw KubernetesStartError(message: "\(error)")
        }
        let policy = RequestPolicy(qps: configuration.qps, burst: configuration.burst)
        client = try KubernetesClient(configuration: clientConfiguration, policy: policy)
        do {
            _ = try await client.list(.rollouts, namespace: configuration.namespace, limit: 1)
        } catch {
            try? await client.shutdown()
            throw KubernetesStartError(message: Self.explain(error))
        }
        leaseClient = try KubernetesClient(configuration: clientConfiguration)
        leaseNamespace = configuration.leaseNamespace ?? clientConfiguration.namespace
        resources = KubernetesResources(
            client: client, namespace: configuration.namespace, instanceID: configuration.instanceID,
            namedObjects: [
                (.configMap, .configMaps, NotificationConfig.configMapName),
                (.secret, .secrets, NotificationConfig.secretName),
            ])
        notifications = NotificationSettings(
            store: resources, globalNamespace: configuration.notificationNamespace(leaseNamespace: leaseNamespace),
            logger: logger)
        let pluginBin = NSTemporaryDirectory() + "aviary-plugin-bin"
        metricPlugins = ArgoPluginHost.reading(
            .metricProvider, client: client, namespace: leaseNamespace, binDirectory: pluginBin, logger: logger)
        trafficRouterPlugins = ArgoPluginHost.reading(
            .trafficRouter, client: client, namespace: leaseNamespace, binDirectory: pluginBin, logger: logger)
        stepPlugins = ArgoPluginHost.reading(
            .step, client: client, namespace: leaseNamespace, binDirectory: pluginBin, logger: logger)
        platform = KubernetesPlatform(
            client: client, resources: resources, namespace: configuration.namespace,
            instanceID: configuration.instanceID, smiVersion: configuration.smiVersion,
            trafficVersions: configuration.trafficVersions,
            loadBalancers: configuration.verifyTargetGroup ? ELBv2Client() : nil,
            albResourceIDTag: configuration.albResourceIDTag,
            trafficRouterPlugins: ArgoTrafficRouterPlugins(host: trafficRouterPlugins))
        metrics = DaemonMetrics()
    }

    /// One line for a failed first request: the server, the verb and resource, the cause, and what to do.
    static func explain(_ error: KubernetesError) -> String {
        var line = "cannot start the controller: \(error)"
        if error.isNotFound {
            line +=
                "; is Argo's Rollout CRD installed? (kubectl apply -f rollout-crd.yaml, or `aviary install kubernetes`)"
        } else if error.code == 403 {
            line += "; the kubeconfig user needs list, watch, patch and update on rollouts.argoproj.io (and status)"
        }
        return line
    }

    /// One term of leadership: a controller, an analysis coordinator and a notification outbox made
    /// when this replica takes the Lease and dropped when it loses it, so that nothing of a term
    /// outlives it.
    struct Term: Sendable {
        let controller: Controller
        let analysis: AnalysisCoordinator
        let outbox: ClusterNotificationOutbox
        let dispatcher: NotificationDispatcher
    }

    /// A fresh term over the informers' caches and the platform.
    func makeTerm() async -> Term {
        let client = self.client
        let logger = self.logger
        var providers = MetricProviders()
        providers.metricPlugins = metricPlugins
        // Datadog's Secret is read from the controller's namespace unless `secretRef.namespaced`.
        providers.controllerNamespace = leaseNamespace
        providers.secret = { namespace, name in
            await Self.readSecrets([name], namespace: namespace, client: client, logger: logger).secrets[name]
        }
        let analysis = AnalysisCoordinator(
            store: resources, metrics: metrics,
            provider: KubernetesMetricProviders(client: client, local: providers, logger: logger),
            secrets: { namespace, names in
                await Self.readSecrets(names, namespace: namespace, client: client, logger: logger)
            }, logger: logger)
        let controller = Controller(
            store: resources, platform: platform, metrics: metrics, analysis: analysis,
            fullResyncInterval: configuration.rolloutResync, concurrentReconciles: configuration.rolloutThreads,
            notifications: notifications, stepPlugins: ArgoStepPlugins(host: stepPlugins), logger: logger)
        await analysis.setRolloutChanged { key in Task { await controller.enqueue(key) } }
        let resources = self.resources
        let outbox = ClusterNotificationOutbox(
            client: client, namespace: leaseNamespace,
            rolloutExists: { key in (try? resources.resource(key)) != nil }, logger: logger)
        let dispatcher = NotificationDispatcher(
            outbox: outbox, settings: notifications, metrics: metrics, retryFor: configuration.notificationRetryFor,
            logger: logger)
        return Term(controller: controller, analysis: analysis, outbox: outbox, dispatcher: dispatcher)
    }

    /// The Secrets a run's `valueFrom.secretKeyRef` arguments name, read from its namespace when it
    /// starts (`data`, base64-decoded). One that is missing is left out, so the run fails naming the
    /// Secret and the key; one the controller may not read is logged with the verb and resource.
    static func readSecrets(
        _ names: Set<String>, namespace: String, client: KubernetesClient, logger: Logger
    ) async -> SecretStore {
        var secrets: [String: [String: String]] = [:]
        for name in names.sorted() {
            do {
                let secret = try await client.get(.secrets, namespace: namespace, name: name)
                var values: [String: String] = [:]
                for (key, encoded) in secret.json["data"]?.objectValue ?? [:] {
                    guard let text = encoded.stringValue, let data = Data(base64Encoded: text) else { continue }
                    values[key] = String(decoding: data, as: UTF8.self)
                }
                secrets[name] = values
            } catch {
                if !error.isNotFound { logger.error("cannot read a secretKeyRef argument: \(error)") }
            }
        }
        return SecretStore(
            secrets,
            remedy:
                "Secrets are read from namespace \"\(namespace)\": kubectl -n \(namespace) create secret generic ...")
    }

    /// Runs until SIGTERM or SIGINT: the HTTP endpoints and informers always, the controller while
    /// this replica leads. A replica that loses the Lease (the API server did not answer its renewals
    /// for the renew deadline) ends that term's controller and analyses, goes back to standby and
    /// campaigns again; it does not need a restart. `onListening` gets the endpoints' address once
    /// they accept connections; `onStarted` is called once the informers have listed.
    public func run(
        onListening: @escaping @Sendable (String) -> Void = { _ in },
        onStarted: @escaping @Sendable () -> Void = {}
    ) async throws {
        let resources = self.resources
        let platform = self.platform
        let logger = self.logger
        let health = self.health
        let metrics = self.metrics
        let current = Mutex<Term?>(nil)
        // `/healthz` and `aviary_controller_leader` say the same thing: one place sets both.
        let stand: @Sendable (ControllerStanding) async -> Void = { standing in
            health.set(standing)
            await metrics.setLeader(standing == .leading)
        }
        resources.setChangeHandler { key in
            guard let controller = current.withLock({ $0?.controller }) else { return }
            Task { await controller.enqueue(key) }
        }
        platform.setOwnerChangeHandler { key in
            // A ReplicaSet or pod of the rollout changed: a watch of the daemon's API looks again.
            resources.changes.notify()
            guard let controller = current.withLock({ $0?.controller }) else { return }
            Task { await controller.enqueue(key) }
        }
        let elector = LeaderElector(
            client: leaseClient,
            configuration: LeaderElectionConfiguration(
                namespace: leaseNamespace, name: configuration.leaseName, identity: configuration.identity,
                leaseDuration: configuration.leaseDuration,
                renewDeadline: configuration.leaseDuration * 2 / 3,
                retryPeriod: configuration.leaseDuration * 2 / 15))
        let identity = configuration.identity
        let body = LoopService(name: "kubernetes controller") {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await resources.run() }
                group.addTask { await platform.run(tickInterval: .seconds(1)) }
                await resources.waitForSync()
                await platform.waitForSync()
                await stand(.standby)
                onStarted()
                while !Task.isCancelled {
                    await elector.run(
                        onStartedLeading: {
                            logger.info("\(identity) leads; reconciling")
                            let term = await makeTerm()
                            // What an earlier leader left to send, before this one adds to it.
                            await term.outbox.load()
                            resources.setNotificationSink { await term.outbox.enqueue($0) }
                            let delivery = Task { await term.dispatcher.run() }
                            current.withLock { $0 = term }
                            await stand(.leading)
                            do {
                                try await term.analysis.resumeStoredRuns()
                            } catch {
                                logger.error("cannot resume AnalysisRuns: \(error)")
                            }
                            // Returns when the term's task is cancelled: the Lease was lost or the process stops.
                            await term.controller.run()
                            current.withLock { $0 = nil }
                            resources.setNotificationSink(nil)
                            delivery.cancel()
                            await term.analysis.cancelAll()
                        },
                        onStoppedLeading: {
                            await stand(.standby)
                            if !Task.isCancelled { logger.warning("\(identity) lost the lease; standing by") }
                        })
                }
                group.cancelAll()
            }
        }
        let host = configuration.host
        // The dashboard's reads and writes queue on a client of their own, not behind the controller's.
        let dashboardClient = try KubernetesClient(configuration: client.configuration)
        let dashboard = Dashboard(
            mode: configuration.dashboard, token: configuration.token, sessions: DashboardSessions(),
            source: { ClusterDashboardSource(kubernetes: dashboardClient) })
        let api = ClusterAPI(
            resources: resources, platform: platform, client: dashboardClient,
            notifications: { key in
                guard let outbox = current.withLock({ $0?.outbox }) else { return nil }
                return await outbox.notifications(of: key, limit: AviaryStore.finishedNotificationsKept + 20)
            })
        let application = Application(
            router: makeControllerRouter(
                health: health, metrics: metrics, token: configuration.token, dashboard: dashboard, api: api),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: configuration.port), serverName: "aviary"),
            services: [body],
            onServerRunning: { channel in onListening("http://\(host):\(channel.localAddress?.port ?? 0)") },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await metricPlugins.stopAll()
        await trafficRouterPlugins.stopAll()
        await stepPlugins.stopAll()
        try? await client.shutdown()
        try? await leaseClient.shutdown()
        try? await dashboardClient.shutdown()
    }
}

/// Why `aviary serve --platform kubernetes` could not start; one line naming the server and the cause.
public struct KubernetesStartError: Error, CustomStringConvertible {
    /// The line.
    public var message: String
    public var description: String { message }
}
