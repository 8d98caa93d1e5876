import ArgumentParser
import AviaryServer
import Foundation

/// `aviary serve`: the daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run the Aviary daemon: the controller and the HTTP API on the local platform, or the controller on a cluster.",
        discussion: """
            Keeps state in STATE_DIR/aviary.sqlite and pod logs in STATE_DIR/logs. Pods run as processes \
            and Services as listeners of the router (its own process); both keep serving when the \
            daemon dies, and a new `aviary serve` on the same state directory adopts them. SIGTERM \
            stops pods and router unless --leave-running. The API listens on loopback; another \
            address needs --token, and then every request needs `Authorization: Bearer TOKEN`.

            --platform kubernetes reconciles Argo's Rollout, AnalysisTemplate, ClusterAnalysisTemplate \
            and AnalysisRun resources on the API server of --kubeconfig/--context (else KUBECONFIG, \
            ~/.kube/config, or the pod's service account): ReplicaSets, Service selectors, SMI \
            TrafficSplits, NGINX canary Ingresses, Istio VirtualServices, TraefikServices, ALB Ingress \
            actions, Ambassador canary Mappings, ApisixRoutes, App Mesh VirtualRouters and VirtualNodes \
            as Argo's controller makes them, and Gateway API routes, Contour HTTPProxies, OpenShift Routes, \
            Gloo Edge routes, Gloo Platform RouteTables and Consul service splitters and resolvers as \
            Argo's plugins make them (run \
            inside Aviary), a Rollout's status through its status subresource, job metrics as batch/v1 \
            Jobs owned by their AnalysisRun. CloudWatch metrics are signed with the AWS key of this \
            process's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; or AWS_ROLE_ARN \
            and AWS_WEB_IDENTITY_TOKEN_FILE, as EKS's IAM roles for service accounts set them; or EKS \
            Pod Identity's AWS_CONTAINER_CREDENTIALS_FULL_URI; or the EC2 instance role). It \
            keeps no state directory; on --listen it serves /healthz (alive), /readyz (caches \
            synced), /metrics and the dashboard, which reads and writes the API server as the CLI's \
            cluster mode does (the resource API under /api/v1 is not served there: kubectl, or the \
            CLI with --kubeconfig). Replicas elect one leader with a Lease. See docs/kubernetes.md.

            Argo's plugins run as go-plugin binaries listed in the ConfigMap argo-rollouts-config: \
            the one applied to the daemon in namespace default on one host (downloads kept in \
            STATE_DIR/plugin-bin), the one of the controller's namespace on Kubernetes. Metric \
            plugins (metricProviderPlugins) and step plugins (stepPlugins) run on both; traffic \
            router plugins (trafficRouterPlugins) on Kubernetes, where they drive the split. See \
            docs/plugins.md.

            The web dashboard is at / of the same address (--dashboard on|read-only|off): every rollout \
            with its status, steps, traffic, analysis charts and controls, live. With a token it asks for it \
            once and keeps a session cookie; every action carries a CSRF token.

            --platform simulated runs no processes and no router: a ReplicaSet's pods are ready the \
            moment it is created, weights and selectors are only recorded in memory. It measures the \
            controller alone (bench/scale/run); its world is not kept across restarts.

            Example:
              aviary serve --state-dir ./.aviary --listen 127.0.0.1:7480
              aviary serve --platform kubernetes --kubeconfig ~/.kube/config --namespace canary
            """)

    @Option(help: "The state directory (created with mode 0700).")
    var stateDir: String = ".aviary"

    @Option(help: "The API's address, HOST:PORT.")
    var listen: String = "127.0.0.1:7480"

    @Option(
        help: """
            A file holding the token every API request must carry (as `Authorization: Bearer TOKEN`) and the \
            dashboard asks for; required off loopback. AVIARY_TOKEN gives it too.
            """)
    var tokenFile: String?

    @Option(
        help: """
            The token itself (every local user can read it in `ps`: prefer --token-file or AVIARY_TOKEN).
            """)
    var token: String?

    @Option(
        help: """
            The web dashboard at / (the API stays under /api/v1): on, read-only (pages without controls; \
            every action refused) or off.
            """)
    var dashboard: DashboardMode = .on

    @Flag(help: "On SIGTERM, leave pods and the router running (a later serve adopts them).")
    var leaveRunning = false

    @Option(
        help: """
            One address every Service listens on, each on its own port (an apply that reuses a port is \
            refused). Without it a Service listens on 127.0.0.1 while its port is free there, and on an \
            address of --service-address-range otherwise.
            """)
    var serviceAddress: String?

    @Option(
        help: """
            Loopback addresses for Services whose port is taken on 127.0.0.1 (so several Services can \
            listen on port 80, as on a cluster); `aviary list services` shows where each listens.
            """)
    var serviceAddressRange: String = "127.0.1.0/24"

    @Option(
        help:
            "Add this to every Service's port (for example 8000: port 80 listens on 8080; ports below 1024 need root).")
    var servicePortOffset: Int = 0

    @Option(
        help: """
            How long (seconds) a notification its receiver does not take is retried, with backoff from 1 s \
            to 60 s, before it is given up and shown as failed.
            """)
    var notificationRetryFor: Double = 3600

    @Flag(help: "Run without the router: Services get no listeners (API and pods only).")
    var noRouter = false

    @Flag(
        help: """
            Run a Prometheus (the `prometheus` on PATH) that scrapes the pods through /sd every 5 s, with \
            its data in STATE_DIR/prometheus; metrics with no provider.prometheus.address use it.
            """)
    var prometheus = false

    @Option(help: "Where the Prometheus of --prometheus listens, HOST:PORT.")
    var prometheusListen: String = "127.0.0.1:9090"

    @Option(
        help: """
            How often the Prometheus of --prometheus scrapes the pods and reads their list again (a \
            Prometheus duration such as 5s or 1s): how soon a new canary's first numbers are there.
            """)
    var prometheusInterval: String = "5s"

    @Flag(
        help: """
            Give pods the daemon's whole environment. Without it a pod gets its container's env, PORT, \
            IMAGE, IMAGE_NAME, IMAGE_TAG, POD_NAME, POD_NAMESPACE, and only PATH, HOME, LANG and TMPDIR \
            of the daemon's.
            """)
    var podEnvInherit = false

    @Option(
        help:
            "Where rollouts run: local (processes and the router), kubernetes (an API server) or simulated (nothing runs; benchmarks)."
    )
    var platform: ServerConfiguration.PlatformKind = .local

    @Option(help: "With --platform kubernetes: the kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster).")
    var kubeconfig: String?

    @Option(help: "With --platform kubernetes: the kubeconfig context (default: its current context).")
    var context: String?

    @Option(help: "With --platform kubernetes: reconcile only this namespace (default: all namespaces).")
    var namespace: String?

    @Option(
        help:
            "With --platform kubernetes: reconcile only rollouts labelled argo-rollouts.argoproj.io/controller-instance=ID."
    )
    var instanceId: String?

    @Option(help: "With --platform kubernetes: the namespace of the leader-election Lease (default: the context's).")
    var leaseNamespace: String?

    @Option(help: "With --platform kubernetes: the SMI TrafficSplit version to write (v1alpha1 ... v1alpha4).")
    var smiApiVersion: String = "v1alpha1"

    @Option(
        help: "With --platform kubernetes: the networking.istio.io version of VirtualServices and DestinationRules.")
    var istioApiVersion: String = "v1alpha3"

    @Option(
        help:
            "With --platform kubernetes: the API group of Traefik's TraefikService (traefik.io, or traefik.containo.us)."
    )
    var traefikApiGroup: String = "traefik.io"

    @Option(help: "With --platform kubernetes: the version of Traefik's TraefikService.")
    var traefikApiVersion: String = "v1alpha1"

    @Option(
        help:
            "With --platform kubernetes: GROUP/VERSION of Ambassador's Mapping (x.getambassador.io: AmbassadorMapping)."
    )
    var ambassadorApiVersion: String = "getambassador.io/v2"

    @Option(help: "With --platform kubernetes: GROUP/VERSION of APISIX's ApisixRoute.")
    var apisixApiVersion: String = "apisix.apache.org/v2"

    @Option(name: .customLong("appmesh-crd-version"), help: "With --platform kubernetes: the appmesh.k8s.aws version.")
    var appMeshCRDVersion: String = "v1beta2"

    @Flag(
        name: [.customLong("aws-verify-target-group"), .customLong("alb-verify-weight")],
        help: ArgumentHelp(
            "With --platform kubernetes: check ALB weights against AWS (the load balancer of each Ingress's status, "
                + "its target groups' weights) and hold each setWeight step until they are in place; status.alb "
                + "names the load balancer and target groups. Also wait, before a blue-green marks the new version "
                + "stable or an ALB canary scales the old one down, until the Service's pods are registered in the "
                + "target groups its TargetGroupBindings bind. The AWS key, region and endpoint come from the "
                + "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, "
                + "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2), EKS's IAM roles for service accounts (AWS_ROLE_ARN, "
                + "AWS_WEB_IDENTITY_TOKEN_FILE), ~/.aws, EKS Pod Identity or the EC2 instance role. "
                + "--alb-verify-weight is Argo's older name."))
    var awsVerifyTargetGroup = false

    @Option(
        name: .customLong("alb-tag-key-resource-id"),
        help: "With --aws-verify-target-group: the target-group tag naming an Ingress's Service.")
    var albTagKeyResourceID: String = "ingress.k8s.aws/resource"

    @Option(
        name: .customLong("aws-target-group-binding-api-version"),
        help: ArgumentHelp(
            "With --aws-verify-target-group: GROUP/VERSION of the TargetGroupBindings read (eks.amazonaws.com/v1 "
                + "on EKS Auto Mode).", valueName: "group/version"))
    var awsTargetGroupBindingAPIVersion: String = "elbv2.k8s.aws/v1beta1"

    @Option(
        help: "With --platform kubernetes: requests per second to the API server, on average (default 40, as Argo's).")
    var qps: Double?

    @Option(help: "With --platform kubernetes: requests that may go at once above --qps (default 80, as Argo's).")
    var burst: Int?

    @Option(help: "With --platform kubernetes: rollouts reconciled at once (default 10, as Argo's).")
    var rolloutThreads: Int?

    @Option(
        help: "With --platform kubernetes: seconds between passes over every rollout (default 900, as Argo's).")
    var rolloutResync: Double?

    /// The daemon's token: --token-file, else --token, else AVIARY_TOKEN.
    func resolvedToken(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let tokenFile {
            if token != nil {
                throw ValidationError("--token-file and --token both give the token; keep one (--token-file is safer)")
            }
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw ValidationError(
                    "--token-file \(tokenFile): cannot read it; write the token there (mode 600) or give AVIARY_TOKEN")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else {
                throw ValidationError("--token-file \(tokenFile) is empty: write a non-empty secret in it")
            }
            return text
        }
        return token ?? environment["AVIARY_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func makeConfiguration() throws -> ServerConfiguration {
        let (host, port) = try ServerConfiguration.parseListen(listen)
        var configuration = ServerConfiguration(
            stateDirectory: stateDir, host: host, port: port, token: try resolvedToken(), leaveRunning: leaveRunning,
            serviceAddress: serviceAddress ?? "127.0.0.1",
            serviceAddressRange: serviceAddress == nil ? serviceAddressRange : nil,
            servicePortOffset: servicePortOffset,
            routerCommand: noRouter ? nil : [Self.executablePath(), "router"],
            platform: platform, podEnvironmentInherited: podEnvInherit,
            prometheusListen: prometheus ? prometheusListen : nil)
        configuration.notificationRetryFor = notificationRetryFor
        configuration.dashboard = dashboard
        configuration.prometheusInterval = prometheusInterval
        try configuration.validate()
        return configuration
    }

    /// This very binary, which also runs the router (`aviary router`).
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func makeKubernetesConfiguration() throws -> KubernetesConfiguration {
        let (host, port) = try ServerConfiguration.parseListen(listen)
        var configuration = KubernetesConfiguration(
            kubeconfig: kubeconfig, context: context, namespace: namespace, instanceID: instanceId,
            leaseNamespace: leaseNamespace, smiVersion: smiApiVersion, host: host, port: port,
            token: try resolvedToken())
        configuration.istioVersion = istioApiVersion
        configuration.traefikGroup = traefikApiGroup
        configuration.traefikVersion = traefikApiVersion
        configuration.ambassadorVersion = ambassadorApiVersion
        configuration.apisixVersion = apisixApiVersion
        configuration.appMeshVersion = appMeshCRDVersion
        configuration.verifyTargetGroup = awsVerifyTargetGroup
        configuration.albResourceIDTag = albTagKeyResourceID
        configuration.targetGroupBindingVersion = awsTargetGroupBindingAPIVersion
        configuration.dashboard = dashboard
        configuration.notificationRetryFor = notificationRetryFor
        if let qps { configuration.qps = qps }
        if let burst { configuration.burst = burst }
        if let rolloutThreads { configuration.rolloutThreads = rolloutThreads }
        if let rolloutResync { configuration.rolloutResync = rolloutResync }
        try configuration.validate()
        return configuration
    }

    func validate() throws {
        do {
            _ = try makeConfiguration()
            if platform == .kubernetes {
                _ = try makeKubernetesConfiguration()
            } else if let flag = [
                kubeconfig.map { _ in "--kubeconfig" }, context.map { _ in "--context" },
                namespace.map { _ in "--namespace" }, instanceId.map { _ in "--instance-id" },
                leaseNamespace.map { _ in "--lease-namespace" }, qps.map { _ in "--qps" },
                burst.map { _ in "--burst" }, rolloutThreads.map { _ in "--rollout-threads" },
                rolloutResync.map { _ in "--rollout-resync" },
            ].compactMap({ $0 }).first {
                throw ValidationError(
                    "\(flag) applies to --platform kubernetes only; add --platform kubernetes or drop it")
            }
        } catch let invalid as ServerConfiguration.Invalid {
            throw ValidationError(invalid.description)
        }
    }

    func run() async throws {
        if platform == .kubernetes {
            try await runOnKubernetes()
            return
        }
        if token != nil {
            printError(
                "aviary serve: warning: --token is visible to every local user in `ps`; use --token-file FILE or AVIARY_TOKEN"
            )
        }
        let daemon: AviaryDaemon
        do {
            daemon = try await AviaryDaemon(configuration: try makeConfiguration())
        } catch {
            // For example a read-only, full or damaged state directory: one line naming it and the fix.
            printError("\(error)")
            throw ExitCode(1)
        }
        try await daemon.run { address in
            FileHandle.standardOutput.write(Data("aviary serve: listening on \(address)\n".utf8))
            SystemdNotifier.notify("READY=1")
        }
    }

    /// `--platform kubernetes`: no state directory, only the health and metrics endpoints; one error
    /// line when the cluster cannot be used.
    func runOnKubernetes() async throws {
        let daemon: KubernetesDaemon
        do {
            daemon = try await KubernetesDaemon(configuration: try makeKubernetesConfiguration())
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        try await daemon.run(
            onListening: { address in
                FileHandle.standardOutput.write(
                    Data("aviary serve: /healthz, /readyz and /metrics on \(address)\n".utf8))
                if dashboard != .off {
                    FileHandle.standardOutput.write(Data("aviary serve: the dashboard at \(address)/\n".utf8))
                }
            },
            onStarted: {
                FileHandle.standardOutput.write(Data("aviary serve: reconciling on Kubernetes\n".utf8))
                SystemdNotifier.notify("READY=1")
            })
    }
}

extension ServerConfiguration.PlatformKind: ExpressibleByArgument {}
extension DashboardMode: ExpressibleByArgument {}
