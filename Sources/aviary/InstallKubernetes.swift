import ArgumentParser
import AviaryModel

/// `aviary install kubernetes`: what a cluster needs to run Aviary's controller.
struct InstallKubernetes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubernetes",
        abstract: "Print the CRDs, RBAC, ServiceAccount and controller Deployment that run Aviary on a cluster.",
        discussion: """
            Prints one multi-document YAML for `kubectl apply -f -`: the namespace; the CRDs of \
            argoproj.io/v1alpha1 Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun and \
            Experiment with Argo's names, short names (ro, at, cat, ar, exp) and subresources, and \
            schemas that keep every field (so Aviary's CRDs may replace Argo's and Argo's may replace \
            Aviary's without losing a field); a ServiceAccount; a ClusterRole with only the verbs \
            the controller uses and a Role for its leader-election Lease; a Service for /metrics; \
            and the controller Deployment: 2 replicas of `aviary serve --platform kubernetes`, of \
            which the Lease's holder writes, probed on /healthz and /readyz.

            The daemon's API needs a token off loopback: create the Secret first, \
            `kubectl -n NAMESPACE create secret generic aviary-api-token --from-literal=token=$(openssl rand -hex 32)`.

            --dockerfile prints the Dockerfile of the image instead. Images cannot be built on the \
            machines Aviary is developed on; build it where Docker or Buildah runs and pass its name \
            to --image.

            Examples:
              aviary install kubernetes | kubectl apply -f -
              aviary install kubernetes --namespace rollouts --image registry.example/aviary:\(aviaryVersion)
              aviary install kubernetes --dockerfile > Dockerfile
            """)

    @Option(help: "The namespace of the controller, its ServiceAccount and Lease.")
    var namespace = "aviary-system"

    @Option(help: "The controller's image.")
    var image = "aviary:\(aviaryVersion)"

    @Flag(help: "Print the Dockerfile of the image instead (it cannot be built on these machines).")
    var dockerfile = false

    func validate() throws {
        if !KubernetesInstall.isDNSLabel(namespace) {
            throw ValidationError(
                "--namespace \(namespace): a namespace is a DNS label (lower-case letters, digits and '-', "
                    + "at most 63, starting and ending with a letter or digit), such as aviary-system")
        }
        if image.isEmpty || image.contains(where: \.isWhitespace) {
            throw ValidationError("--image \"\(image)\": give an image reference such as registry.example/aviary:1.0")
        }
    }

    func run() {
        if dockerfile {
            print(KubernetesInstall.dockerfile, terminator: "")
            return
        }
        print(KubernetesInstall(namespace: namespace, image: image).manifests, terminator: "")
    }
}

/// The manifests of `aviary install kubernetes`. Pure text, written by us: the CRDs declare what Argo's
/// declare about names, scope, versions and subresources, and keep unknown fields instead of
/// restating Argo's schemas.
struct KubernetesInstall {
    var namespace: String
    var image: String

    /// Every document, separated by `---`.
    var manifests: String {
        ([namespaceDocument] + Self.customResourceDefinitions + [serviceAccount, clusterRole, clusterRoleBinding]
            + [leaseRole, leaseRoleBinding, metricsService, deployment])
            .joined(separator: "---\n")
    }

    /// One CRD of `argoproj.io` (version `v1alpha1`, served and stored), as Argo names it.
    struct CustomResource {
        var kind: String
        var plural: String
        var shortName: String
        var isClusterScoped = false
        /// Only Rollouts have a status (and scale) subresource in Argo's CRDs: the controller writes
        /// AnalysisRun and Experiment status with the object, so adding one would break Argo's.
        var hasStatusAndScale = false
        var columns: [(name: String, type: String, jsonPath: String, description: String)] = []
    }

    static let age = (
        name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation"
    )

    static let customResources = [
        CustomResource(
            kind: "Rollout", plural: "rollouts", shortName: "ro", hasStatusAndScale: true,
            columns: [
                ("Desired", "integer", ".spec.replicas", "Number of desired pods"),
                ("Current", "integer", ".status.replicas", "Total number of non-terminated pods"),
                ("Up-to-date", "integer", ".status.updatedReplicas", "Total number of pods of the current template"),
                ("Available", "integer", ".status.availableReplicas", "Total number of available pods"),
                age,
            ]),
        CustomResource(kind: "AnalysisTemplate", plural: "analysistemplates", shortName: "at", columns: [age]),
        CustomResource(
            kind: "ClusterAnalysisTemplate", plural: "clusteranalysistemplates", shortName: "cat",
            isClusterScoped: true, columns: [age]),
        CustomResource(
            kind: "AnalysisRun", plural: "analysisruns", shortName: "ar",
            columns: [("Status", "string", ".status.phase", "AnalysisRun status"), age]),
        CustomResource(
            kind: "Experiment", plural: "experiments", shortName: "exp",
            columns: [("Status", "string", ".status.phase", "Experiment status"), age]),
    ]

    static var customResourceDefinitions: [String] { customResources.map(customResourceDefinition) }

    static func customResourceDefinition(_ resource: CustomResource) -> String {
        let columns = resource.columns.map {
            """
                - name: \($0.name)
                  type: \($0.type)
                  jsonPath: \($0.jsonPath)
                  description: \($0.description)

            """
        }.joined()
        // The scale subresource's paths must be fields the schema declares.
        let specFields =
            resource.hasStatusAndScale
            ? """
                          properties:
                            replicas:
                              type: integer
                              format: int32

              """ : ""
        let statusFields =
            resource.hasStatusAndScale
            ? """
                          properties:
                            HPAReplicas:
                              type: integer
                              format: int32
                            selector:
                              type: string

              """ : ""
        let subresources =
            resource.hasStatusAndScale
            ? """
                  subresources:
                    status: {}
                    scale:
                      specReplicasPath: .spec.replicas
                      statusReplicasPath: .status.HPAReplicas
                      labelSelectorPath: .status.selector

              """ : "    subresources: {}\n"
        return """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: \(resource.plural).argoproj.io
              labels:
                app.kubernetes.io/part-of: aviary
            spec:
              group: argoproj.io
              names:
                kind: \(resource.kind)
                listKind: \(resource.kind)List
                plural: \(resource.plural)
                singular: \(resource.kind.lowercased())
                shortNames:
                - \(resource.shortName)
              scope: \(resource.isClusterScoped ? "Cluster" : "Namespaced")
              versions:
              - name: v1alpha1
                served: true
                storage: true
                additionalPrinterColumns:
            \(columns)    schema:
                  openAPIV3Schema:
                    type: object
                    required:
                    - spec
                    properties:
                      apiVersion:
                        type: string
                      kind:
                        type: string
                      metadata:
                        type: object
                      spec:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
            \(specFields)          status:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
            \(statusFields)\(subresources)
            """
    }

    var labels: String {
        """
            app.kubernetes.io/name: aviary-controller
            app.kubernetes.io/part-of: aviary
        """
    }

    var namespaceDocument: String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(namespace)

        """
    }

    var serviceAccount: String {
        """
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: aviary-controller
          namespace: \(namespace)
          labels:
        \(labels)

        """
    }

    /// The verbs the controller needs, resource by resource, and why.
    static let clusterRules: [(group: String, resources: [String], verbs: [String], why: String)] = [
        (
            "argoproj.io", ["rollouts"], ["get", "list", "watch", "update", "patch"],
            "reads Rollouts through an informer; writes spec only to clear spec.paused and restartAt"
        ),
        ("argoproj.io", ["rollouts/status"], ["update", "patch"], "writes status through the status subresource"),
        (
            "argoproj.io", ["analysisruns", "experiments"],
            ["get", "list", "watch", "create", "update", "patch", "delete"],
            "starts, terminates and garbage-collects a rollout's runs and experiments"
        ),
        (
            "argoproj.io", ["analysistemplates", "clusteranalysistemplates"], ["get", "list", "watch"],
            "reads the templates runs are made from"
        ),
        (
            "apps", ["replicasets"], ["get", "list", "watch", "create", "update", "patch", "delete"],
            "one ReplicaSet per pod-template hash, scaled and annotated, old ones deleted by revisionHistoryLimit"
        ),
        (
            "apps", ["deployments"], ["get", "list", "watch", "update", "patch"],
            "reads the pod template a Rollout's workloadRef names; scales it down as workloadRef.scaleDown says"
        ),
        ("", ["podtemplates"], ["get", "list", "watch"], "reads the pod template a Rollout's workloadRef names"),
        (
            "", ["services"], ["get", "list", "watch", "create", "update", "patch", "delete"],
            "pins canary/stable/active/preview selectors; creates and deletes experiment templates' Services"
        ),
        ("", ["pods"], ["get", "list", "watch", "delete"], "reads readiness; deletes pods older than restartAt"),
        ("", ["pods/eviction"], ["create"], "evicts pods for restart where a PodDisruptionBudget applies"),
        ("", ["events"], ["create", "patch"], "records events with Argo's reasons"),
        ("batch", ["jobs"], ["get", "list", "watch", "create", "delete"], "the job metric provider"),
        (
            "", ["secrets"], ["get", "list", "watch"],
            "provider credentials from valueFrom.secretKeyRef; the notification Secret (watched by name)"
        ),
        (
            "", ["configmaps"], ["get", "list", "watch"],
            "Argo's notification ConfigMap (watched by name), in the controller's and the rollouts' namespaces; "
                + "argo-rollouts-config, which lists metric, traffic router and step plugins"
        ),
        (
            "", ["endpoints"], ["get"],
            "reads a Service's endpoints for the target-group registration check (--aws-verify-target-group)"
        ),
        (
            "elbv2.k8s.aws", ["targetgroupbindings"], ["list"],
            "finds the AWS target groups bound to a Service for the same check"
        ),
        (
            "eks.amazonaws.com", ["targetgroupbindings"], ["list"],
            "the same on EKS Auto Mode (--aws-target-group-binding-api-version eks.amazonaws.com/v1)"
        ),
        (
            "split.smi-spec.io", ["trafficsplits"], ["get", "list", "watch", "create", "update", "patch"],
            "shifts traffic through SMI TrafficSplits"
        ),
        (
            "networking.k8s.io", ["ingresses"], ["get", "list", "watch", "create", "update", "patch"],
            "reads stable Ingresses, writes their NGINX canary Ingresses and ALB Ingresses' action annotations"
        ),
        (
            "networking.istio.io", ["virtualservices", "destinationrules"], ["get", "list", "watch", "update", "patch"],
            "sets Istio route weights, header and mirror routes, and subset labels"
        ),
        (
            "traefik.io", ["traefikservices"], ["get", "list", "watch", "update", "patch"],
            "sets the weights of Traefik's weighted TraefikService"
        ),
        (
            "traefik.containo.us", ["traefikservices"], ["get", "list", "watch", "update", "patch"],
            "the same under Traefik's older API group (--traefik-api-group)"
        ),
        (
            "getambassador.io", ["mappings"], ["get", "list", "watch", "create", "update", "patch", "delete"],
            "creates, weighs and deletes Ambassador canary Mappings"
        ),
        (
            "x.getambassador.io", ["ambassadormappings"],
            ["get", "list", "watch", "create", "update", "patch", "delete"],
            "the same for AmbassadorMappings (--ambassador-api-version x.getambassador.io/...)"
        ),
        (
            "apisix.apache.org", ["apisixroutes"], ["get", "list", "watch", "create", "update", "patch", "delete"],
            "sets APISIX route weights and makes header routes' ApisixRoutes"
        ),
        (
            "projectcontour.io", ["httpproxies"], ["get", "list", "watch", "update", "patch"],
            "sets Contour HTTPProxy weights (Argo's argoproj-labs/contour plugin)"
        ),
        (
            "consul.hashicorp.com", ["serviceresolvers", "servicesplitters"],
            ["get", "list", "watch", "update", "patch"],
            "sets Consul service splitter weights and resolver subset filters (Argo's hashicorp/consul plugin)"
        ),
        (
            "gateway.solo.io", ["virtualservices", "routetables"], ["get", "list", "watch", "update", "patch"],
            "sets Gloo Edge route weights (Argo's solo-io/glooedge plugin)"
        ),
        (
            "networking.gloo.solo.io", ["routetables"], ["get", "list", "watch", "update", "patch"],
            "sets Gloo Platform RouteTable weights and header routes (Argo's solo-io/glooplatform plugin)"
        ),
        (
            "route.openshift.io", ["routes"], ["get", "list", "watch", "update", "patch"],
            "sets OpenShift Route backend weights (Argo's argoproj-labs/openshift plugin)"
        ),
        (
            "appmesh.k8s.aws", ["virtualservices", "virtualrouters", "virtualnodes"],
            ["get", "list", "watch", "update", "patch"],
            "sets App Mesh VirtualRouter weights and VirtualNode pod selectors"
        ),
        (
            "gateway.networking.k8s.io", ["httproutes", "grpcroutes", "tcproutes"], ["get", "list", "watch", "update", "patch"],
            "sets Gateway API route weights and header and mirror rules (Argo's gatewayAPI plugin)"
        ),
    ]

    var clusterRole: String {
        let rules = Self.clusterRules.map { rule in
            """
            # \(rule.why)
            - apiGroups: ["\(rule.group)"]
              resources: [\(rule.resources.map { "\"\($0)\"" }.joined(separator: ", "))]
              verbs: [\(rule.verbs.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        }.joined()
        return """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata:
              name: aviary-controller
              labels:
            \(labels)
            rules:
            \(rules)
            """
    }

    var clusterRoleBinding: String {
        binding(kind: "ClusterRoleBinding", name: "aviary-controller", roleKind: "ClusterRole", namespaced: false)
    }

    /// A binding of the controller's ServiceAccount to a role of `roleKind` named `name`.
    func binding(kind: String, name: String, roleKind: String, namespaced: Bool) -> String {
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: \(kind)
        metadata:
          name: \(name)
        \(namespaced ? "  namespace: \(namespace)\n" : "")  labels:
        \(labels)
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: \(roleKind)
          name: \(name)
        subjects:
        - kind: ServiceAccount
          name: aviary-controller
          namespace: \(namespace)

        """
    }

    /// Leader election touches one Lease in the controller's own namespace, so it is a Role there.
    var leaseRole: String {
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: aviary-controller-leader-election
          namespace: \(namespace)
          labels:
        \(labels)
        rules:
        # Lease leader election: only the holder writes
        - apiGroups: ["coordination.k8s.io"]
          resources: ["leases"]
          verbs: ["get", "create", "update"]
        # The leader's pending notifications (ConfigMap aviary-notification-outbox), sent by the next leader if it dies
        - apiGroups: [""]
          resources: ["configmaps"]
          verbs: ["create", "patch"]

        """
    }

    var leaseRoleBinding: String {
        binding(kind: "RoleBinding", name: "aviary-controller-leader-election", roleKind: "Role", namespaced: true)
    }

    var metricsService: String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: aviary-controller-metrics
          namespace: \(namespace)
          labels:
        \(labels)
        spec:
          selector:
            app.kubernetes.io/name: aviary-controller
          ports:
          - name: metrics
            port: 7480
            targetPort: http

        """
    }

    var deployment: String {
        // The API (and /healthz, /metrics) needs the token off loopback; the probes send it from the
        // container, where the Secret is in the environment.
        // /healthz answers while the process serves (liveness); /readyz once its caches are synced.
        func probe(_ path: String) -> String {
            #"["/bin/sh", "-c", "curl -fsS -H \"Authorization: Bearer $AVIARY_TOKEN\" http://127.0.0.1:7480"#
                + path + #""]"#
        }
        return """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: aviary-controller
              namespace: \(namespace)
              labels:
            \(labels)
            spec:
              # Two replicas; only the holder of the Lease writes, the other takes over within the lease.
              replicas: 2
              selector:
                matchLabels:
                  app.kubernetes.io/name: aviary-controller
              template:
                metadata:
                  labels:
                    app.kubernetes.io/name: aviary-controller
                    app.kubernetes.io/part-of: aviary
                spec:
                  serviceAccountName: aviary-controller
                  securityContext:
                    runAsNonRoot: true
                    runAsUser: 65532
                  containers:
                  - name: aviary
                    image: \(image)
                    # The token comes from AVIARY_TOKEN (below), not from an argument every process can read.
                    args: ["serve", "--platform", "kubernetes", "--listen", "0.0.0.0:7480", "--state-dir", "/var/lib/aviary"]
                    env:
                    # The Lease's holder identity and namespace.
                    - name: POD_NAME
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.name
                    - name: POD_NAMESPACE
                      valueFrom:
                        fieldRef:
                          fieldPath: metadata.namespace
                    - name: AVIARY_TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: aviary-api-token
                          key: token
                    ports:
                    - name: http
                      containerPort: 7480
                    livenessProbe:
                      exec:
                        command: \(probe("/healthz"))
                      initialDelaySeconds: 10
                      periodSeconds: 10
                      failureThreshold: 3
                    readinessProbe:
                      exec:
                        command: \(probe("/readyz"))
                      periodSeconds: 5
                    resources:
                      requests:
                        cpu: 100m
                        memory: 128Mi
                      limits:
                        memory: 512Mi
                    securityContext:
                      allowPrivilegeEscalation: false
                      readOnlyRootFilesystem: true
                      capabilities:
                        drop: ["ALL"]
                    volumeMounts:
                    - name: state
                      mountPath: /var/lib/aviary
                  volumes:
                  # The cluster is the source of truth; this holds only what the daemon keeps for itself.
                  - name: state
                    emptyDir: {}

            """
    }

    /// The image: `aviary` built in release mode on Swift's image, run on a slim one with curl for the
    /// probes. It cannot be built on the machines Aviary is developed on (no container runtime).
    static let dockerfile = """
        # The image of Aviary's controller (`aviary install kubernetes --image NAME`).
        # Build it where a container runtime runs (docker build -t NAME . in a checkout of Aviary);
        # the machines Aviary is developed on have none, so this file is printed, never built there.
        FROM swift:6.1-noble AS build
        WORKDIR /src
        COPY . .
        RUN swift build -c release --product aviary --static-swift-stdlib \\
            && cp "$(swift build -c release --show-bin-path)/aviary" /aviary

        FROM ubuntu:24.04
        RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl libsqlite3-0 \\
            && rm -rf /var/lib/apt/lists/*
        COPY --from=build /aviary /usr/local/bin/aviary
        USER 65532:65532
        EXPOSE 7480
        ENTRYPOINT ["/usr/local/bin/aviary"]
        CMD ["serve", "--platform", "kubernetes", "--listen", "0.0.0.0:7480"]

        """

    /// An RFC 1123 label, as a namespace name must be.
    static func isDNSLabel(_ name: String) -> Bool {
        guard (1...63).contains(name.count), let first = name.first, let last = name.last else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        return name.allSatisfy { allowed.contains($0) } && first != "-" && last != "-"
    }
}
