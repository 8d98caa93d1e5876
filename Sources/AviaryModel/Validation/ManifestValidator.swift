import AviaryMeta
import AviaryRoutes
import Foundation

/// The field rules of Argo Rollouts (and Kubernetes, for the fields Aviary uses) for one resource.
///
/// Each problem carries its field path and a message saying what is wrong and what is allowed.
/// Checks that need other documents (templates present, arguments supplied) and condition
/// parsing live in `aviary lint` (AviaryCore's `Lint/`), which sees all documents together.
public enum ManifestValidator {
    /// Every problem in `resource`.
    public static func validate(_ resource: AnyResource) -> [FieldIssue] {
        var issues = Issues()
        switch resource {
        case .rollout(let rollout):
            issues.metadata(rollout.metadata)
            issues.rolloutSpec(rollout.spec)
        case .analysisTemplate(let template):
            issues.metadata(template.metadata)
            issues.templateSpec(template.spec)
        case .clusterAnalysisTemplate(let template):
            issues.metadata(template.metadata)
            issues.templateSpec(template.spec)
        case .analysisRun(let run):
            issues.metadata(run.metadata)
            issues.runSpec(run.spec)
        case .experiment(let experiment):
            issues.metadata(experiment.metadata)
            issues.experimentSpec(experiment.spec)
        case .service(let service):
            issues.metadata(service.metadata, isServiceName: true)
            issues.serviceSpec(service.spec)
        case .configMap(let configMap):
            issues.metadata(configMap.metadata)
            issues.configurationKeys(configMap.data, path: "data", base64: false)
            issues.configurationKeys(configMap.binaryData, path: "binaryData", base64: true)
            for key in Set((configMap.data ?? [:]).keys).intersection((configMap.binaryData ?? [:]).keys).sorted() {
                issues.error("binaryData.\(key)", "duplicate key: \"\(key)\" is also in data; keep one")
            }
        case .secret(let secret):
            issues.metadata(secret.metadata)
            issues.configurationKeys(secret.data, path: "data", base64: true)
            issues.configurationKeys(secret.stringData, path: "stringData", base64: false)
        case .workload(let workload):
            issues.metadata(workload.metadata)
            issues.workload(workload)
        }
        return issues.list
    }
}

/// Collects issues while walking a resource.
struct Issues {
    private(set) var list: [FieldIssue] = []

    /// `spec.workloadRef`: an `apps/v1` Deployment or ReplicaSet, or a `v1` PodTemplate, by name,
    /// and a `scaleDown` Argo knows (Argo scales only a Deployment).
    mutating func workloadRef(_ reference: WorkloadRef) {
        let allowed = "Deployment (apiVersion apps/v1), ReplicaSet (apps/v1) or PodTemplate (v1)"
        switch reference.kind {
        case nil:
            error("spec.workloadRef.kind", "required; give \(allowed)")
        case let kind?:
            guard let workload = Workload.kind(kind) else {
                error("spec.workloadRef.kind", "must be \(allowed), got \(kind)")
                break
            }
            if let apiVersion = reference.apiVersion, apiVersion != workload.apiVersion {
                error("spec.workloadRef.apiVersion", "must be \(workload.apiVersion) for a \(kind), got \(apiVersion)")
            }
        }
        if (reference.name ?? "").isEmpty {
            error(
                "spec.workloadRef.name",
                "required; give the name of the \(reference.kind ?? "Deployment") in the Rollout's namespace")
        }
        if let scaleDown = reference.scaleDown,
            !["never", "onsuccess", "progressively"].contains(scaleDown.lowercased())
        {
            error("spec.workloadRef.scaleDown", "must be never, onsuccess or progressively, got \(scaleDown)")
        }
        if reference.scaleDown.map({ $0.lowercased() != "never" }) == true, let kind = Workload.kind(reference.kind),
            kind != .deployment
        {
            warning(
                "spec.workloadRef.scaleDown",
                kind == .podTemplate
                    ? "only a Deployment is scaled down; a PodTemplate has no pods"
                    : "only a Deployment is scaled down (as in Argo); scale the ReplicaSet yourself once the Rollout is Healthy")
        }
    }

    /// A Deployment's, ReplicaSet's or PodTemplate's pod template, which a Rollout's `workloadRef`
    /// runs: present and valid as a Rollout's own would have to be.
    mutating func workload(_ workload: Workload) {
        guard Workload.hasSpecTemplate(workload.kind) else {
            if let template = workload.template {
                podTemplate(template, path: "template")
            } else {
                error("template", "required; give the pod template a Rollout's workloadRef takes")
            }
            return
        }
        guard let template = workload.spec?["template"] else {
            error("spec.template", "required; give the pod template a Rollout's workloadRef takes")
            return
        }
        do {
            podTemplate(try template.decoded(as: PodTemplateSpec.self), path: "spec.template")
        } catch {
            self.error("spec.template", "is not a pod template: \(error)")
        }
    }

    mutating func error(_ path: String, _ message: String) {
        list.append(FieldIssue(path, message))
    }

    mutating func warning(_ path: String, _ message: String) {
        list.append(FieldIssue(path, message, severity: .warning))
    }

    // MARK: Metadata

    mutating func metadata(_ metadata: ObjectMeta, isServiceName: Bool = false) {
        guard let name = metadata.name, !name.isEmpty else {
            if (metadata.generateName ?? "").isEmpty {
                error(
                    "metadata.name", "required; give the resource a name such as \"my-app\" (or a generateName prefix)")
            }
            return
        }
        if isServiceName {
            if !Self.isDNSLabel(name, startsWithLetter: true) {
                error(
                    "metadata.name",
                    "\"\(name)\" is not a valid Service name: use at most 63 lowercase letters, digits and '-', "
                        + "starting with a letter and ending with a letter or digit")
            }
        } else if !Self.isDNSSubdomain(name) {
            error(
                "metadata.name",
                "\"\(name)\" is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', "
                    + "starting and ending with a letter or digit")
        }
        if let namespace = metadata.namespace, !namespace.isEmpty, !Self.isDNSLabel(namespace, startsWithLetter: false)
        {
            error(
                "metadata.namespace",
                "\"\(namespace)\" is not a valid namespace: use at most 63 lowercase letters, digits and '-'")
        }
    }

    static func isDNSLabel(_ text: String, startsWithLetter: Bool) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...63).contains(scalars.count) else { return false }
        func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        guard let first = scalars.first, let last = scalars.last, isAlphanumeric(last) else { return false }
        if startsWithLetter ? !("a"..."z").contains(first) : !isAlphanumeric(first) { return false }
        return scalars.allSatisfy { isAlphanumeric($0) || $0 == "-" }
    }

    static func isDNSSubdomain(_ text: String) -> Bool {
        guard text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            isDNSLabel(String($0), startsWithLetter: false)
        }
    }

    // MARK: Rollout

    mutating func rolloutSpec(_ spec: RolloutSpec) {
        if let replicas = spec.replicas, replicas < 0 {
            error("spec.replicas", "must be 0 or more, got \(replicas)")
        }
        nonNegative("spec.minReadySeconds", spec.minReadySeconds)
        nonNegative("spec.revisionHistoryLimit", spec.revisionHistoryLimit)
        if let deadline = spec.progressDeadlineSeconds {
            if deadline <= spec.minReadySecondsOrDefault {
                error(
                    "spec.progressDeadlineSeconds",
                    "must be greater than minReadySeconds (\(spec.minReadySecondsOrDefault)), got \(deadline)")
            }
        }
        switch (spec.template, spec.workloadRef) {
        case (nil, nil):
            error("spec.template", "required; give a pod template (or a workloadRef to a Deployment)")
        case (.some, .some):
            error("spec.workloadRef", "cannot be set together with spec.template; keep one of them")
        case (.some(let template), nil):
            podTemplate(template, path: "spec.template")
            if let selector = spec.selector {
                selectorMatches(selector, template: template, selectorPath: "spec.selector")
            }
        case (nil, .some(let reference)):
            workloadRef(reference)
        }
        if spec.selector == nil {
            if spec.workloadRef == nil {
                error("spec.selector", "required; give matchLabels that match spec.template.metadata.labels")
            }
        } else if let selector = spec.selector, (selector.matchLabels ?? [:]).isEmpty,
            (selector.matchExpressions ?? []).isEmpty
        {
            error("spec.selector", "must not be empty; an empty selector would select every pod")
        }
        let strategy = spec.strategy
        switch (strategy.canary, strategy.blueGreen) {
        case (nil, nil):
            error("spec.strategy", "must set exactly one of canary and blueGreen, found neither")
        case (.some, .some):
            error("spec.strategy", "must set exactly one of canary and blueGreen, found both")
        case (.some(let canary), nil):
            canaryStrategy(canary, spec: spec)
        case (nil, .some(let blueGreen)):
            blueGreenStrategy(blueGreen)
        }
    }

    mutating func selectorMatches(_ selector: LabelSelector, template: PodTemplateSpec, selectorPath: String) {
        let labels = template.metadata?.labels ?? [:]
        guard !selector.matches(labels) else { return }
        let wanted = (selector.matchLabels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        let have = labels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        error(
            selectorPath,
            "does not match the template's labels: selector wants {\(wanted.joined(separator: ", "))}, "
                + "template has {\(have.joined(separator: ", "))}; make the template labels include the selector's")
    }

    mutating func podTemplate(_ template: PodTemplateSpec, path: String) {
        let specPath = "\(path).spec"
        if template.spec.containers.isEmpty {
            error("\(specPath).containers", "must list at least one container")
        }
        var names: Set<String> = []
        for (index, container) in template.spec.containers.enumerated() {
            let containerPath = "\(specPath).containers[\(index)]"
            self.container(container, path: containerPath)
            if !names.insert(container.name).inserted {
                error("\(containerPath).name", "duplicate container name \"\(container.name)\"; names must be unique")
            }
        }
        for (index, container) in (template.spec.initContainers ?? []).enumerated() {
            self.container(container, path: "\(specPath).initContainers[\(index)]")
        }
        if let policy = template.spec.restartPolicy, !["Always", "OnFailure", "Never"].contains(policy) {
            error("\(specPath).restartPolicy", "must be Always, OnFailure or Never, got \"\(policy)\"")
        }
    }

    mutating func container(_ container: Container, path: String) {
        if container.name.isEmpty {
            error("\(path).name", "must not be empty")
        }
        if (container.image ?? "").isEmpty {
            error(
                "\(path).image",
                "required; name the version to run, e.g. sample-app:v1 (locally the process gets it as IMAGE)")
        }
        if let command = container.command, command.isEmpty || command[0].isEmpty {
            error("\(path).command", "must name the program to run, e.g. [aviary-sample-app]")
        }
        var portNames: Set<String> = []
        for (index, port) in (container.ports ?? []).enumerated() {
            let portPath = "\(path).ports[\(index)]"
            if !(1...65535).contains(port.containerPort) {
                error("\(portPath).containerPort", "must be between 1 and 65535, got \(port.containerPort)")
            }
            if let name = port.name, !portNames.insert(name).inserted {
                error("\(portPath).name", "duplicate port name \"\(name)\"; names must be unique in a container")
            }
        }
        for (index, variable) in (container.env ?? []).enumerated() {
            environmentVariable(variable, path: "\(path).env[\(index)]")
        }
        for (index, source) in (container.envFrom ?? []).enumerated() {
            let sourcePath = "\(path).envFrom[\(index)]"
            if (source.configMapRef == nil) == (source.secretRef == nil) {
                error(sourcePath, "must set exactly one of configMapRef and secretRef")
            }
            for (member, reference) in [("configMapRef", source.configMapRef), ("secretRef", source.secretRef)] {
                if let reference, (reference.name ?? "").isEmpty {
                    error("\(sourcePath).\(member).name", "required; name the object to read")
                }
            }
        }
        let probes: [(String, Probe?)] = [
            ("readinessProbe", container.readinessProbe), ("livenessProbe", container.livenessProbe),
            ("startupProbe", container.startupProbe),
        ]
        for case (let name, let probe?) in probes {
            self.probe(probe, path: "\(path).\(name)", portNames: portNames)
        }
    }

    /// The `fieldRef.fieldPath`s Kubernetes accepts for an environment variable (plus
    /// `metadata.labels['KEY']` and `metadata.annotations['KEY']`).
    static let environmentFieldPaths: Set<String> = [
        "metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
        "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
        "status.podIPs",
    ]

    mutating func environmentVariable(_ variable: EnvVar, path: String) {
        if variable.name.isEmpty || variable.name.contains("=") {
            error("\(path).name", "must be a variable name without \"=\", got \"\(variable.name)\"")
        }
        guard let source = variable.valueFrom else { return }
        if !(variable.value ?? "").isEmpty {
            error(path, "must set only one of value and valueFrom")
        }
        let sourcePath = "\(path).valueFrom"
        let set = [
            source.configMapKeyRef != nil, source.secretKeyRef != nil, source.fieldRef != nil,
            source.resourceFieldRef != nil,
        ].filter { $0 }.count
        if set != 1 {
            error(sourcePath, "must set exactly one of configMapKeyRef, secretKeyRef, fieldRef and resourceFieldRef")
        }
        for (member, selector) in [("configMapKeyRef", source.configMapKeyRef), ("secretKeyRef", source.secretKeyRef)] {
            guard let selector else { continue }
            if (selector.name ?? "").isEmpty {
                error("\(sourcePath).\(member).name", "required; name the object to read")
            }
            if selector.key.isEmpty { error("\(sourcePath).\(member).key", "required; name the key to read") }
        }
        if let fieldPath = source.fieldRef?.fieldPath {
            let labelled = ["metadata.labels['", "metadata.annotations['"].contains {
                fieldPath.hasPrefix($0) && fieldPath.hasSuffix("']") && fieldPath.count > $0.count + 2
            }
            if !labelled, !Self.environmentFieldPaths.contains(fieldPath) {
                error(
                    "\(sourcePath).fieldRef.fieldPath",
                    "\"\(fieldPath)\" is not a field Kubernetes offers; one of "
                        + "\(Self.environmentFieldPaths.sorted().joined(separator: ", ")), metadata.labels['KEY']")
            }
        }
    }

    /// The keys of a ConfigMap's or Secret's values: Kubernetes allows letters, digits, `-`, `_`
    /// and `.`; base64 members must decode.
    mutating func configurationKeys(_ values: [String: String]?, path: String, base64: Bool) {
        for (key, value) in (values ?? [:]).sorted(by: { $0.key < $1.key }) {
            let allowed = key.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
            }
            if key.isEmpty || key.count > 253 || !allowed || key == "." || key == ".." {
                error(
                    "\(path).\(key)",
                    "invalid key; a key has 1 to 253 letters, digits, \"-\", \"_\" or \".\"")
            }
            if base64, Data(base64Encoded: value) == nil {
                let plain = path == "binaryData" ? "data" : "stringData"
                error("\(path).\(key)", "must be base64; put a plain value under \(plain)")
            }
        }
    }

    mutating func probe(_ probe: Probe, path: String, portNames: Set<String>) {
        if let httpGet = probe.httpGet {
            switch httpGet.port {
            case .int(let number) where !(1...65535).contains(number):
                error("\(path).httpGet.port", "must be between 1 and 65535, got \(number)")
            case .string(let name) where !portNames.contains(name):
                error(
                    "\(path).httpGet.port",
                    "names no port of this container (\"\(name)\"); declare it under ports or use a number")
            default:
                break
            }
            if let scheme = httpGet.scheme, !["HTTP", "HTTPS"].contains(scheme) {
                error("\(path).httpGet.scheme", "must be HTTP or HTTPS, got \"\(scheme)\"")
            }
        }
        positive("\(path).periodSeconds", probe.periodSeconds)
        positive("\(path).timeoutSeconds", probe.timeoutSeconds)
        positive("\(path).successThreshold", probe.successThreshold)
        positive("\(path).failureThreshold", probe.failureThreshold)
        nonNegative("\(path).initialDelaySeconds", probe.initialDelaySeconds)
    }

    mutating func canaryStrategy(_ canary: CanaryStrategy, spec: RolloutSpec) {
        let path = "spec.strategy.canary"
        let routing = canary.trafficRouting
        let maxWeight = routing?.maxTrafficWeightOrDefault ?? 100
        if let routing {
            let routingPath = "\(path).trafficRouting"
            if let weight = routing.maxTrafficWeight, weight < 1 {
                error("\(routingPath).maxTrafficWeight", "must be 1 or more, got \(weight)")
            }
            if Self.requiresCanaryAndStableServices(canary, routing: routing) {
                if (canary.canaryService ?? "").isEmpty {
                    error("\(path).canaryService", "required with trafficRouting; name the Service of the canary pods")
                }
                if (canary.stableService ?? "").isEmpty {
                    error("\(path).stableService", "required with trafficRouting; name the Service of the stable pods")
                }
            }
            let routers: [(String, Bool)] = [
                ("istio", routing.istio != nil), ("nginx", routing.nginx != nil), ("alb", routing.alb != nil),
                ("smi", routing.smi != nil), ("ambassador", routing.ambassador != nil),
                ("appMesh", routing.appMesh != nil), ("traefik", routing.traefik != nil),
                ("apisix", routing.apisix != nil), ("plugins", routing.plugins != nil),
            ]
            if !routers.contains(where: \.1) {
                error(
                    routingPath,
                    "must configure a traffic router: smi, nginx, istio, traefik, alb, ambassador, apisix, appMesh "
                        + "or plugins (such as \(RolloutTrafficRouting.gatewayAPIPlugin))")
            }
            // Argo drives every router named, and so does Aviary on Kubernetes (on one host its
            // router makes the one split).
            var refusals: [StepRoutesRefused] = []
            for provider in routing.providers {
                refusals.append(trafficProvider(provider, canary: canary, path: routingPath))
                // The plugin filters the subsets on the template's version annotation; without it
                // the filters compare with nothing (Argo accepts it, so a warning).
                if case .consul(let consul) = provider, spec.workloadRef == nil,
                    (spec.template?.metadata?.annotations?[consul.annotation] ?? "").isEmpty
                {
                    warning(
                        "spec.template.metadata.annotations[\"\(consul.annotation)\"]",
                        "not set, so the Consul plugin's canary subset filter compares Service.Meta.\(consul.metaKey) "
                            + "with nothing and selects no pod; give each version its own value, e.g. \"2\"")
                }
            }
            refuseSteps(refusals, canary: canary)
            for name in (routing.plugins ?? [:]).keys.sorted() {
                let pluginPath = "\(routingPath).plugins[\"\(name)\"]"
                if !RolloutTrafficRouting.pluginsRun.contains(name) {
                    // A plugin binary: `trafficRouterPlugins` of `argo-rollouts-config` names it (lint
                    // checks that list when the ConfigMap is among the files).
                    continue
                } else if name == RolloutTrafficRouting.contourPlugin, routing.contour == nil {
                    error(pluginPath, "is not a Contour plugin configuration; give httpProxies: [NAME]")
                } else if name == RolloutTrafficRouting.consulPlugin, routing.consul == nil {
                    error(
                        pluginPath,
                        "is not a Consul plugin configuration; give serviceName, canarySubsetName and stableSubsetName")
                } else if name == RolloutTrafficRouting.glooEdgePlugin, routing.glooEdge == nil {
                    error(
                        pluginPath,
                        "is not a Gloo Edge plugin configuration; give virtualService: {name: NAME} or routeTable: "
                            + "{name: NAME} (or labels), and optionally routes: [NAME]")
                } else if name == RolloutTrafficRouting.glooPlatformPlugin, routing.glooPlatform == nil {
                    error(
                        pluginPath,
                        "is not a Gloo Platform plugin configuration; give routeTableSelector: {name: NAME} (or "
                            + "labels: {KEY: VALUE}, and optionally namespace), and optionally routeSelector: "
                            + "{name: NAME} or {labels: {KEY: VALUE}}")
                } else if name == RolloutTrafficRouting.openshiftPlugin, routing.openshift == nil {
                    error(pluginPath, "is not an OpenShift plugin configuration; give routes: [NAME]")
                } else if name == RolloutTrafficRouting.openshiftPlugin {
                    // The plugin reads `routes` only; its README's example also has `namespace`.
                    for key in (routing.plugins?[name]?.objectValue ?? [:]).keys.sorted() where key != "routes" {
                        warning(
                            "\(pluginPath).\(key)",
                            "unknown field, ignored by the plugin; it reads routes only (a Route of another namespace "
                                + "is NAMESPACE/NAME)")
                    }
                } else if name == RolloutTrafficRouting.gatewayAPIPlugin, routing.gatewayAPI == nil {
                    error(
                        pluginPath,
                        "is not a Gateway API plugin configuration; give httpRoute: NAME or "
                            + "httpRoutes: [{name: NAME}] (and optionally namespace)")
                }
            }
            var routeNames: Set<String> = []
            for (index, route) in (routing.managedRoutes ?? []).enumerated() {
                if !routeNames.insert(route.name).inserted {
                    error(
                        "\(routingPath).managedRoutes[\(index)].name",
                        "duplicate route name \"\(route.name)\"; names must be unique")
                }
            }
        }
        if let canaryService = canary.canaryService, let stableService = canary.stableService,
            !canaryService.isEmpty, canaryService == stableService
        {
            error("\(path).stableService", "must differ from canaryService, both are \"\(stableService)\"")
        }
        if let pingPong = canary.pingPong {
            // Argo's rules. Beside ALB's ping-pong, canaryService and stableService may name
            // Istio's Services.
            if let routing, routing.alb == nil, routing.istio == nil {
                error(
                    "\(path).trafficRouting",
                    "pingPong works with the alb and istio traffic routers only (Argo's rule); use canaryService "
                        + "and stableService with this router")
            }
            for (field, name) in [("pingService", pingPong.pingService), ("pongService", pingPong.pongService)]
            where (name ?? "").isEmpty {
                error("\(path).pingPong.\(field)", "required: pingPong needs both a ping and a pong Service")
            }
            if let ping = pingPong.pingService, !ping.isEmpty, ping == pingPong.pongService {
                error(
                    "\(path).pingPong.pongService",
                    "must differ from pingService, both are \"\(ping)\"; the two Services take turns")
            }
        }
        intOrPercent("\(path).maxSurge", canary.maxSurge)
        intOrPercent("\(path).maxUnavailable", canary.maxUnavailable)
        let replicas = spec.replicasOrDefault
        if canary.maxSurgeOrDefault.scaledValue(total: max(replicas, 1), roundUp: true) == 0,
            canary.maxUnavailableOrDefault.scaledValue(total: max(replicas, 1), roundUp: false) == 0
        {
            error(
                "\(path).maxUnavailable",
                "cannot be 0 when maxSurge is also 0 (\(canary.maxSurgeOrDefault)); the update could never proceed")
        }
        if canary.scaleDownDelaySeconds != nil, routing == nil {
            error("\(path).scaleDownDelaySeconds", "can only be used with trafficRouting")
        }
        nonNegative("\(path).scaleDownDelaySeconds", canary.scaleDownDelaySeconds)
        nonNegative("\(path).scaleDownDelayRevisionLimit", canary.scaleDownDelayRevisionLimit)
        nonNegative("\(path).abortScaleDownDelaySeconds", canary.abortScaleDownDelaySeconds)
        if canary.dynamicStableScale == true {
            if routing == nil {
                error("\(path).dynamicStableScale", "can only be used with trafficRouting")
            }
            if canary.scaleDownDelaySeconds != nil {
                error("\(path).dynamicStableScale", "cannot be used together with scaleDownDelaySeconds")
            }
        }
        if let minimum = canary.minPodsPerReplicaSet {
            if minimum < 1 { error("\(path).minPodsPerReplicaSet", "must be 1 or more, got \(minimum)") }
            if routing == nil { error("\(path).minPodsPerReplicaSet", "can only be used with trafficRouting") }
        }
        if let threshold = canary.replicaProgressThreshold {
            let thresholdPath = "\(path).replicaProgressThreshold"
            switch threshold.type {
            case "Percent":
                if !(0...100).contains(threshold.value) {
                    error(
                        "\(thresholdPath).value", "must be between 0 and 100 for type Percent, got \(threshold.value)")
                }
            case "Pods":
                if threshold.value < 0 { error("\(thresholdPath).value", "must be 0 or more, got \(threshold.value)") }
            default:
                error("\(thresholdPath).type", "must be Percent or Pods, got \"\(threshold.type)\"")
            }
        }
        let steps = canary.stepsOrEmpty
        if let background = canary.analysis {
            analysis(background.analysis, path: "\(path).analysis")
            if let start = background.startingStep, start < 0 || (start > 0 && start >= steps.count) {
                error(
                    "\(path).analysis.startingStep",
                    steps.isEmpty
                        ? "must be 0 when there are no steps, got \(start)"
                        : "must be between 0 and \(steps.count - 1) (the step indexes), got \(start)")
            }
        }
        let managed = Set(routing?.managedRouteNames ?? [])
        for (index, step) in steps.enumerated() {
            canaryStep(
                step, path: "\(path).steps[\(index)]", hasRouting: routing != nil, maxWeight: maxWeight,
                managedRoutes: managed, routing: routing)
        }
    }

    /// Argo's rule: the routers that split between two Services need both named; Istio with a
    /// DestinationRule (subsets), ping-pong and plugins do without.
    static func requiresCanaryAndStableServices(_ canary: CanaryStrategy, routing: RolloutTrafficRouting) -> Bool {
        if routing.alb != nil && canary.pingPong == nil { return true }
        if let istio = routing.istio, istio.destinationRule == nil, canary.pingPong == nil { return true }
        return routing.smi != nil || routing.apisix != nil || routing.ambassador != nil || routing.nginx != nil
            || routing.contour != nil || routing.openshift != nil || routing.glooEdge != nil || routing.glooPlatform != nil
            || routing.appMesh != nil || routing.traefik != nil
    }

    mutating func canaryStep(
        _ step: CanaryStep, path: String, hasRouting: Bool, maxWeight: Int, managedRoutes: Set<String>,
        routing: RolloutTrafficRouting? = nil
    ) {
        let keys = step.setKeys
        if keys.isEmpty {
            error(
                path,
                "must set one of setWeight, pause, setCanaryScale, analysis, experiment, setHeaderRoute, "
                    + "setMirrorRoute, plugin; found none")
            return
        }
        // Argo rejects a step that combines two of setWeight, pause, experiment and analysis; it
        // accepts (and its examples use) a route or scale change beside another key.
        if let plugin = step.plugin, plugin.name.isEmpty {
            error(
                "\(path).plugin.name",
                "required: the step plugin's name, as stepPlugins of argo-rollouts-config lists it (NAMESPACE/NAME)")
        }
        let exclusive = keys.filter { ["setWeight", "pause", "experiment", "analysis"].contains($0) }
        if exclusive.count > 1 {
            error(
                path,
                "must set only one of setWeight, pause, experiment and analysis, found "
                    + "\(exclusive.joined(separator: ", ")); split it into separate steps")
            return
        }
        if keys.count > 1 {
            warning(
                path,
                "sets \(keys.joined(separator: ", ")) in one step; Argo accepts this, "
                    + "but one key per step reads (and reconciles) more plainly")
        }
        if let weight = step.setWeight, !(0...maxWeight).contains(weight) {
            error("\(path).setWeight", "must be between 0 and \(maxWeight), got \(weight)")
        }
        if let pause = step.pause, let duration = pause.duration, duration.seconds <= 0 {
            error(
                "\(path).pause.duration",
                "must be greater than 0, got \(duration); omit duration (pause: {}) to wait for a promote")
        }
        if let scale = step.setCanaryScale {
            let scalePath = "\(path).setCanaryScale"
            if !hasRouting {
                error(
                    scalePath,
                    "requires spec.strategy.canary.trafficRouting; without it the weight is the replica count")
            }
            let set = [scale.replicas != nil, scale.weight != nil, scale.matchTrafficWeight != nil].filter { $0 }.count
            if set != 1 {
                error(scalePath, "must set exactly one of replicas, weight and matchTrafficWeight, found \(set)")
            }
            if let replicas = scale.replicas, replicas < 0 {
                error("\(scalePath).replicas", "must be 0 or more, got \(replicas)")
            }
            if let weight = scale.weight, !(0...100).contains(weight) {
                error("\(scalePath).weight", "must be between 0 and 100, got \(weight)")
            }
        }
        if let analysis = step.analysis {
            self.analysis(analysis, path: "\(path).analysis")
        }
        if let experiment = step.experiment {
            experimentStep(experiment, path: "\(path).experiment", routing: routing)
        }
        if let route = step.setHeaderRoute {
            let routePath = "\(path).setHeaderRoute"
            routeName(route.name, path: routePath, hasRouting: hasRouting, managedRoutes: managedRoutes)
            for (index, match) in (route.match ?? []).enumerated() {
                let matchPath = "\(routePath).match[\(index)]"
                if match.headerName.isEmpty { error("\(matchPath).headerName", "must not be empty") }
                stringMatch(match.headerValue, path: "\(matchPath).headerValue")
            }
        }
        if let route = step.setMirrorRoute {
            let routePath = "\(path).setMirrorRoute"
            routeName(route.name, path: routePath, hasRouting: hasRouting, managedRoutes: managedRoutes)
            if let percentage = route.percentage, !(0...100).contains(percentage) {
                error("\(routePath).percentage", "must be between 0 and 100, got \(percentage)")
            }
            for (index, match) in (route.match ?? []).enumerated() {
                let matchPath = "\(routePath).match[\(index)]"
                if match.method == nil, match.path == nil, (match.headers ?? [:]).isEmpty {
                    error(matchPath, "must set at least one of method, path and headers")
                }
                if let method = match.method { stringMatch(method, path: "\(matchPath).method") }
                if let requestPath = match.path { stringMatch(requestPath, path: "\(matchPath).path") }
                for (name, value) in (match.headers ?? [:]).sorted(by: { $0.key < $1.key }) {
                    stringMatch(value, path: FieldPath.member("\(matchPath).headers", name))
                }
            }
        }
    }

    /// The step routes a router cannot carry, for `refuseSteps`.
    struct StepRoutesRefused {
        var router: String
        var header = false
        var mirror = false
    }

    /// Refuses the header and mirror route steps that no router named can carry: with several
    /// routers Argo gives each step to each, and a router that cannot do it leaves it to the others.
    mutating func refuseSteps(_ refusals: [StepRoutesRefused], canary: CanaryStrategy) {
        guard !refusals.isEmpty else { return }
        func cannot(_ what: String) -> String {
            refusals.count == 1
                ? "\(refusals[0].router) cannot \(what)"
                : "none of the routers named (\(refusals.map(\.router).joined(separator: ", "))) can \(what)"
        }
        for (index, step) in canary.stepsOrEmpty.enumerated() {
            if step.setHeaderRoute != nil, refusals.allSatisfy(\.header) {
                error(
                    "spec.strategy.canary.steps[\(index)].setHeaderRoute",
                    "\(cannot("route by header")); remove the step or use istio, nginx or the Gateway API")
            }
            if step.setMirrorRoute != nil, refusals.allSatisfy(\.mirror) {
                error(
                    "spec.strategy.canary.steps[\(index)].setMirrorRoute",
                    "\(cannot("mirror traffic")); remove the step or use istio or the Gateway API")
            }
        }
    }

    /// What each router needs named; returns the step routes it cannot carry out (`refuseSteps`
    /// makes them errors when no other router named carries them: never a step that silently does
    /// nothing).
    mutating func trafficProvider(
        _ provider: TrafficProvider, canary: CanaryStrategy, path: String
    ) -> StepRoutesRefused {
        func missing(_ field: String, _ fix: String) { error("\(path).\(field)", "required; \(fix)") }
        let steps = canary.stepsOrEmpty.enumerated()
        var refused = StepRoutesRefused(router: provider.name)
        func refuseSteps(header: Bool, mirror: Bool, router: String) {
            refused = StepRoutesRefused(router: router, header: header, mirror: mirror)
        }
        switch provider {
        case .smi:
            break
        case .nginx(let nginx):
            let stable = (nginx.stableIngress.map { [$0] } ?? []) + (nginx.stableIngresses ?? [])
            if stable.isEmpty || stable.contains(where: \.isEmpty) {
                missing(
                    "nginx.stableIngress",
                    "name the Ingress that routes to the stable Service (or list stableIngresses)")
            }
            if nginx.stableIngress != nil, nginx.stableIngresses != nil {
                error("\(path).nginx.stableIngresses", "cannot be used together with stableIngress; list them all here")
            }
            for (index, step) in steps {
                guard let route = step.setHeaderRoute, let matches = route.match, !matches.isEmpty else { continue }
                if matches.count > 1 {
                    error(
                        "spec.strategy.canary.steps[\(index)].setHeaderRoute.match",
                        "NGINX Ingress matches one header (canary-by-header); give one match, found \(matches.count)")
                }
            }
            refuseSteps(header: false, mirror: true, router: "NGINX Ingress")
        case .istio(let istio):
            let services = istio.allVirtualServices
            if services.isEmpty {
                missing("istio.virtualService", "name the VirtualService whose routes carry the split")
            }
            if istio.virtualService != nil, istio.virtualServices != nil {
                error(
                    "\(path).istio.virtualServices", "cannot be used together with virtualService; list them all here")
            }
            for (index, service) in services.enumerated() where service.name.isEmpty {
                let field = istio.virtualService != nil && index == 0 ? "virtualService" : "virtualServices[\(index)]"
                error("\(path).istio.\(field).name", "must name a VirtualService")
            }
            if let rule = istio.destinationRule {
                for (field, value) in [
                    ("name", rule.name), ("canarySubsetName", rule.canarySubsetName),
                    ("stableSubsetName", rule.stableSubsetName),
                ] where value.isEmpty {
                    missing("istio.destinationRule.\(field)", "the DestinationRule's subsets split the traffic")
                }
            }
        case .traefik(let traefik):
            if traefik.weightedTraefikServiceName.isEmpty {
                missing("traefik.weightedTraefikServiceName", "name the TraefikService whose weights split the traffic")
            }
            refuseSteps(header: true, mirror: true, router: "Traefik")
        case .gatewayAPI(let gateway):
            let plugin = "plugins[\"\(RolloutTrafficRouting.gatewayAPIPlugin)\"]"
            let routes =
                [gateway.httpRoute, gateway.grpcRoute, gateway.tcpRoute].compactMap { $0 }
                + (gateway.httpRoutes ?? []).map(\.name) + (gateway.grpcRoutes ?? []).map(\.name)
                + (gateway.tcpRoutes ?? []).map(\.name)
            if routes.isEmpty || routes.contains(where: \.isEmpty) {
                missing("\(plugin).httpRoute", "name the HTTPRoute (or httpRoutes, grpcRoute, tcpRoute) to split")
            }
            let onlyTCP =
                gateway.httpRoute == nil && gateway.httpRoutes == nil && gateway.grpcRoute == nil
                && gateway.grpcRoutes == nil
            if onlyTCP { refuseSteps(header: true, mirror: true, router: "A Gateway API TCPRoute") }
        case .contour(let contour):
            if contour.httpProxies.isEmpty || contour.httpProxies.contains(where: \.isEmpty) {
                missing(
                    "plugins[\"\(RolloutTrafficRouting.contourPlugin)\"].httpProxies",
                    "name the HTTPProxies whose routes carry the canary and stable Services")
            }
            refuseSteps(header: true, mirror: true, router: "Contour")
        case .openshift(let openshift):
            if openshift.routes.isEmpty || openshift.routes.contains(where: \.isEmpty) {
                missing(
                    "plugins[\"\(RolloutTrafficRouting.openshiftPlugin)\"].routes",
                    "name the Routes whose default backend is the stable Service (NAME or NAMESPACE/NAME)")
            }
            refuseSteps(header: true, mirror: true, router: "OpenShift")
        case .glooEdge(let gloo):
            let configPath = "plugins[\"\(RolloutTrafficRouting.glooEdgePlugin)\"]"
            switch (gloo.virtualService, gloo.routeTable) {
            case (nil, nil), (.some, .some):
                error(
                    "\(path).\(configPath)",
                    "one of virtualService or routeTable selectors must be set in solo-io/glooedge plugin "
                        + "configuration; give one")
            case (let selector?, nil) where (selector.name ?? "").isEmpty:
                missing("\(configPath).virtualService.name", "give the VirtualService's name")
            case (nil, let selector?) where (selector.name ?? "").isEmpty && (selector.labels ?? [:]).isEmpty:
                error(
                    "\(path).\(configPath).routeTable",
                    "name or labels field must be set in RouteTable selector; give name: NAME or labels: {KEY: VALUE}")
            default: break
            }
            refuseSteps(header: true, mirror: true, router: "Gloo Edge")
        case .glooPlatform(let gloo):
            if gloo.routeTableSelector == nil {
                error(
                    "\(path).plugins[\"\(RolloutTrafficRouting.glooPlatformPlugin)\"].routeTableSelector",
                    "routeTable selector is required; give routeTableSelector: {name: NAME} or {labels: {KEY: VALUE}}")
            }
            refuseSteps(header: false, mirror: true, router: "Gloo Platform")
        case .consul(let consul):
            let names = [consul.serviceName, consul.canarySubsetName, consul.stableSubsetName]
            if names.contains(where: { ($0 ?? "").isEmpty }) {
                error(
                    "\(path).plugins[\"\(RolloutTrafficRouting.consulPlugin)\"]",
                    "invalid consul traffic routing configuration. stableSubsetName, canarySubsetName, and "
                        + "serviceName must be set; set all three")
            }
            refuseSteps(header: true, mirror: true, router: "Consul")
        case .plugin(let name, _):
            // The plugin binary reads its configuration and answers each call; what it cannot do
            // is its error at that call. Aviary keys a split by a Service: the stable one (or the
            // root of another router named beside it).
            if canary.trafficRootService == nil {
                warning(
                    "spec.strategy.canary.stableService",
                    "not set, so Aviary has no split to keep and never calls the plugin \(name); name the Services "
                        + "of the stable and canary pods (stableService, canaryService)")
            }
        case .alb(let alb):
            let ingresses = alb.allIngresses
            if ingresses.isEmpty || ingresses.contains(where: \.isEmpty) {
                missing("alb.ingress", "name the Ingress whose rule routes to the root Service (or list ingresses)")
            }
            if alb.ingress != nil, alb.ingresses != nil {
                error("\(path).alb.ingresses", "cannot be used together with ingress; list them all here")
            }
            if let port = alb.servicePort {
                if !(1...65535).contains(port) {
                    error("\(path).alb.servicePort", "must be a port between 1 and 65535, got \(port)")
                }
            } else {
                missing("alb.servicePort", "give the port of the Services the ALB forwards to, as the Ingress names it")
            }
            if let stickiness = alb.stickinessConfig, stickiness.enabled,
                !(1...604_800).contains(stickiness.durationSeconds)
            {
                error(
                    "\(path).alb.stickinessConfig.durationSeconds",
                    "must be between 1 and 604800 seconds (7 days, AWS's range), got \(stickiness.durationSeconds)")
            }
            if canary.pingPong != nil, (alb.rootService ?? "").isEmpty {
                missing(
                    "alb.rootService",
                    "with ping-pong the two Services take turns, so name the Service the Ingress's rule routes to")
            }
            for (index, step) in steps {
                for (matchIndex, match) in (step.setHeaderRoute?.match ?? []).enumerated()
                where (match.headerValue.exact ?? "").isEmpty {
                    error(
                        "spec.strategy.canary.steps[\(index)].setHeaderRoute.match[\(matchIndex)].headerValue",
                        "ALB matches a header by its exact value only (Argo's rule); use exact: VALUE")
                }
            }
            refuseSteps(header: false, mirror: true, router: "ALB")
        case .ambassador(let ambassador):
            let mappings = ambassador.mappings ?? []
            if mappings.isEmpty || mappings.contains(where: \.isEmpty) {
                missing("ambassador.mappings", "name the Mappings that route to the stable Service")
            }
            refuseSteps(header: true, mirror: true, router: "Ambassador")
        case .apisix(let apisix):
            if (apisix.route?.name ?? "").isEmpty {
                missing("apisix.route.name", "name the ApisixRoute whose rules carry the split")
            }
            for (index, rule) in (apisix.route?.rules ?? []).enumerated() where rule.isEmpty {
                error(
                    "\(path).apisix.route.rules[\(index)]", "must name an HTTP rule of the ApisixRoute (spec.http[].name)")
            }
            refuseSteps(header: false, mirror: true, router: "APISIX")
        case .appMesh(let appMesh):
            if (appMesh.virtualService?.name ?? "").isEmpty {
                missing("appMesh.virtualService.name", "name the VirtualService whose VirtualRouter carries the split")
            }
            for (field, reference) in [
                ("canaryVirtualNodeRef", appMesh.virtualNodeGroup?.canaryVirtualNodeRef),
                ("stableVirtualNodeRef", appMesh.virtualNodeGroup?.stableVirtualNodeRef),
            ] where (reference?.name ?? "").isEmpty {
                missing("appMesh.virtualNodeGroup.\(field).name", "name the VirtualNode of that side's pods")
            }
            refuseSteps(header: true, mirror: true, router: "App Mesh")
        }
        return refused
    }

    mutating func routeName(_ name: String, path: String, hasRouting: Bool, managedRoutes: Set<String>) {
        if !hasRouting {
            error(path, "requires spec.strategy.canary.trafficRouting")
            return
        }
        if !managedRoutes.contains(name) {
            let listed = managedRoutes.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            error(
                "\(path).name",
                "\"\(name)\" is not listed in spec.strategy.canary.trafficRouting.managedRoutes"
                    + (listed.isEmpty ? " (none are listed)" : " (listed: \(listed))") + "; add it there")
        }
    }

    mutating func stringMatch(_ match: StringMatch, path: String) {
        let set = [match.exact, match.prefix, match.regex].compactMap { $0 }.count
        if set != 1 {
            error(path, "must set exactly one of exact, prefix and regex, found \(set)")
        }
        if let pattern = match.regex, (try? NSRegularExpression(pattern: pattern)) == nil {
            error("\(path).regex", "\"\(pattern)\" is not a valid regular expression")
        }
    }

    mutating func analysis(_ analysis: RolloutAnalysis, path: String) {
        let templates = analysis.templates ?? []
        if templates.isEmpty {
            error("\(path).templates", "must name at least one template: templates: [{templateName: <name>}]")
        }
        for (index, template) in templates.enumerated() where (template.templateName ?? "").isEmpty {
            error("\(path).templates[\(index)].templateName", "required; name an AnalysisTemplate")
        }
        var names: Set<String> = []
        for (index, argument) in (analysis.args ?? []).enumerated() {
            let argumentPath = "\(path).args[\(index)]"
            if !names.insert(argument.name).inserted {
                error("\(argumentPath).name", "duplicate argument \"\(argument.name)\"; give each argument once")
            }
            if argument.value == nil, argument.valueFrom == nil {
                error(argumentPath, "must set value or valueFrom")
            }
            if let source = argument.valueFrom {
                let sourcePath = "\(argumentPath).valueFrom"
                if (source.podTemplateHashValue == nil) == (source.fieldRef == nil) {
                    error(sourcePath, "must set exactly one of podTemplateHashValue and fieldRef")
                }
                if let hash = source.podTemplateHashValue, !["Stable", "Latest"].contains(hash) {
                    error("\(sourcePath).podTemplateHashValue", "must be Stable or Latest, got \"\(hash)\"")
                }
            }
        }
        dryRunAndRetention(analysis.dryRun, analysis.measurementRetention, path: path)
    }

    mutating func experimentStep(_ experiment: RolloutExperimentStep, path: String, routing: RolloutTrafficRouting?) {
        if experiment.templates.isEmpty {
            error("\(path).templates", "must list at least one template")
        }
        var names: Set<String> = []
        for (index, template) in experiment.templates.enumerated() {
            let templatePath = "\(path).templates[\(index)]"
            if !names.insert(template.name).inserted {
                error("\(templatePath).name", "duplicate template name \"\(template.name)\"")
            }
            if !["stable", "canary"].contains(template.specRef) {
                error("\(templatePath).specRef", "must be stable or canary, got \"\(template.specRef)\"")
            }
            nonNegative("\(templatePath).replicas", template.replicas)
            if let weight = template.weight, !(0...100).contains(weight) {
                error("\(templatePath).weight", "must be between 0 and 100, got \(weight)")
            }
            // Argo's rules: a template's share of traffic needs a router that splits more than two ways.
            if template.weight != nil {
                if routing == nil {
                    error(
                        "\(templatePath).weight",
                        "Experiment template weight cannot be set unless TrafficRouting is enabled; add "
                            + "trafficRouting or remove the weight")
                } else if let routing, routing.smi == nil, routing.alb == nil, routing.istio == nil,
                    routing.plugins?.isEmpty ?? true
                {
                    error(
                        "\(templatePath).weight",
                        "Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and "
                            + "Plugins at this time; remove the weight or route with one of them")
                }
            }
        }
        if let duration = experiment.duration, duration.seconds <= 0 {
            error("\(path).duration", "must be greater than 0, got \(duration)")
        }
        var analysisNames: Set<String> = []
        for (index, analysis) in (experiment.analyses ?? []).enumerated() {
            let analysisPath = "\(path).analyses[\(index)]"
            if !analysisNames.insert(analysis.name).inserted {
                error("\(analysisPath).name", "duplicate analysis name \"\(analysis.name)\"")
            }
            if analysis.templateName.isEmpty {
                error("\(analysisPath).templateName", "required; name an AnalysisTemplate")
            }
        }
    }

    mutating func blueGreenStrategy(_ blueGreen: BlueGreenStrategy) {
        let path = "spec.strategy.blueGreen"
        if blueGreen.activeService.isEmpty {
            error("\(path).activeService", "required; name the Service that receives production traffic")
        }
        if let preview = blueGreen.previewService, !preview.isEmpty, preview == blueGreen.activeService {
            error("\(path).previewService", "must differ from activeService, both are \"\(preview)\"")
        }
        if let count = blueGreen.previewReplicaCount, count < 1 {
            error("\(path).previewReplicaCount", "must be 1 or more, got \(count)")
        }
        if let seconds = blueGreen.autoPromotionSeconds {
            if seconds < 1 { error("\(path).autoPromotionSeconds", "must be 1 or more, got \(seconds)") }
            if blueGreen.autoPromotionEnabled == false {
                warning(
                    "\(path).autoPromotionSeconds",
                    "has no effect with autoPromotionEnabled: false; remove one of them")
            }
        }
        intOrPercent("\(path).maxUnavailable", blueGreen.maxUnavailable)
        nonNegative("\(path).scaleDownDelaySeconds", blueGreen.scaleDownDelaySeconds)
        nonNegative("\(path).scaleDownDelayRevisionLimit", blueGreen.scaleDownDelayRevisionLimit)
        nonNegative("\(path).abortScaleDownDelaySeconds", blueGreen.abortScaleDownDelaySeconds)
        if let pre = blueGreen.prePromotionAnalysis { analysis(pre, path: "\(path).prePromotionAnalysis") }
        if let post = blueGreen.postPromotionAnalysis { analysis(post, path: "\(path).postPromotionAnalysis") }
    }

    // MARK: Analysis

    mutating func templateSpec(_ spec: AnalysisTemplateSpec) {
        if spec.metricsOrEmpty.isEmpty && (spec.templates ?? []).isEmpty {
            error("spec.metrics", "must list at least one metric (or include other templates under spec.templates)")
        }
        metrics(spec.metricsOrEmpty, path: "spec.metrics")
        var names: Set<String> = []
        for (index, argument) in (spec.args ?? []).enumerated() {
            let argumentPath = "spec.args[\(index)]"
            if !names.insert(argument.name).inserted {
                error("\(argumentPath).name", "duplicate argument \"\(argument.name)\"; declare each argument once")
            }
            templateArgument(argument, path: argumentPath)
        }
        for (index, reference) in (spec.templates ?? []).enumerated() where (reference.templateName ?? "").isEmpty {
            error("spec.templates[\(index)].templateName", "required; name an AnalysisTemplate to include")
        }
        dryRunAndRetention(spec.dryRun, spec.measurementRetention, path: "spec")
    }

    mutating func runSpec(_ spec: AnalysisRunSpec) {
        if spec.metrics.isEmpty {
            error("spec.metrics", "must list at least one metric")
        }
        metrics(spec.metrics, path: "spec.metrics")
        var names: Set<String> = []
        for (index, argument) in (spec.args ?? []).enumerated() {
            let argumentPath = "spec.args[\(index)]"
            if !names.insert(argument.name).inserted {
                error("\(argumentPath).name", "duplicate argument \"\(argument.name)\"")
            }
            if argument.isRequired {
                error(argumentPath, "must set value or valueFrom; an AnalysisRun's arguments are resolved")
            }
            templateArgument(argument, path: argumentPath)
        }
        dryRunAndRetention(spec.dryRun, spec.measurementRetention, path: "spec")
    }

    mutating func templateArgument(_ argument: Argument, path: String) {
        if argument.name.isEmpty {
            error("\(path).name", "must not be empty")
        }
        if let source = argument.valueFrom {
            if (source.secretKeyRef == nil) == (source.fieldRef == nil) {
                error("\(path).valueFrom", "must set exactly one of secretKeyRef and fieldRef")
            }
            if argument.value != nil {
                error(path, "must set only one of value and valueFrom")
            }
        }
    }

    mutating func dryRunAndRetention(_ dryRun: [DryRun]?, _ retention: [MeasurementRetention]?, path: String) {
        for (index, entry) in (dryRun ?? []).enumerated() where entry.metricName.isEmpty {
            error("\(path).dryRun[\(index)].metricName", "must not be empty; name a metric or use \".*\"")
        }
        for (index, entry) in (retention ?? []).enumerated() {
            if entry.metricName.isEmpty {
                error("\(path).measurementRetention[\(index)].metricName", "must not be empty")
            }
            if entry.limit < 1 {
                error("\(path).measurementRetention[\(index)].limit", "must be 1 or more, got \(entry.limit)")
            }
        }
    }

    mutating func metrics(_ metrics: [Metric], path: String) {
        var names: Set<String> = []
        for (index, metric) in metrics.enumerated() {
            let metricPath = "\(path)[\(index)]"
            if metric.name.isEmpty {
                error("\(metricPath).name", "must not be empty")
            } else if !names.insert(metric.name).inserted {
                error("\(metricPath).name", "duplicate metric name \"\(metric.name)\"; metric names must be unique")
            }
            self.metric(metric, path: metricPath)
        }
    }

    /// Argo's metric rules, with `failureLimit: -1` (no limit) allowed as the reference says.
    mutating func metric(_ metric: Metric, path: String) {
        let count = integer("\(path).count", metric.count)
        let failureLimit = integer("\(path).failureLimit", metric.failureLimit)
        let inconclusiveLimit = integer("\(path).inconclusiveLimit", metric.inconclusiveLimit)
        let consecutiveErrorLimit = integer("\(path).consecutiveErrorLimit", metric.consecutiveErrorLimit)
        let consecutiveSuccessLimit = integer("\(path).consecutiveSuccessLimit", metric.consecutiveSuccessLimit)
        if let count, count < 0 {
            error("\(path).count", "must be 0 or more, got \(count)")
        }
        if let count, count > 1, metric.interval == nil {
            error("\(path).interval", "required when count is greater than 1 (count is \(count)); e.g. interval: 30s")
        }
        if let interval = metric.interval, interval.seconds <= 0 {
            error("\(path).interval", "must be greater than 0, got \(interval)")
        }
        if let delay = metric.initialDelay, delay.seconds < 0 {
            error("\(path).initialDelay", "must be 0 or more, got \(delay)")
        }
        if let failureLimit, failureLimit < -1 {
            error("\(path).failureLimit", "must be 0 or more (or -1 for no limit), got \(failureLimit)")
        }
        if let inconclusiveLimit, inconclusiveLimit < 0 {
            error("\(path).inconclusiveLimit", "must be 0 or more, got \(inconclusiveLimit)")
        }
        if let consecutiveErrorLimit, consecutiveErrorLimit < 0 {
            error("\(path).consecutiveErrorLimit", "must be 0 or more, got \(consecutiveErrorLimit)")
        }
        if let consecutiveSuccessLimit, consecutiveSuccessLimit < 0 {
            error(
                "\(path).consecutiveSuccessLimit", "must be 0 or more (0 turns it off), got \(consecutiveSuccessLimit)")
        }
        if let count, count > 0 {
            let limits: [(String, Int?)] = [
                ("failureLimit", failureLimit), ("inconclusiveLimit", inconclusiveLimit),
                ("consecutiveSuccessLimit", consecutiveSuccessLimit),
            ]
            for case (let name, let limit?) in limits where limit > count {
                error("\(path).\(name)", "must not exceed count (\(count)), got \(limit)")
            }
        }
        if failureLimit == -1, (consecutiveSuccessLimit ?? 0) < 1 {
            error(
                "\(path).failureLimit",
                "-1 (no limit) needs consecutiveSuccessLimit of 1 or more, otherwise failures are never judged")
        }
        provider(metric.provider, path: "\(path).provider")
    }

    mutating func provider(_ provider: MetricProvider, path: String) {
        let keys = provider.setKeys
        if keys.count != 1 {
            let allowed =
                "prometheus, web, job, kayenta, datadog, newRelic, wavefront, cloudWatch, graphite, influxdb, skywalking, plugin"
            error(
                path,
                keys.isEmpty
                    ? "must set exactly one provider (\(allowed)); found none"
                    : "must set exactly one provider, found \(keys.count): \(keys.joined(separator: ", "))")
            return
        }
        if let prometheus = provider.prometheus {
            if (prometheus.query ?? "").isEmpty {
                error("\(path).prometheus.query", "required; give the PromQL query")
            }
            if (prometheus.address ?? "").isEmpty {
                error("\(path).prometheus.address", "required; give the Prometheus URL, e.g. http://127.0.0.1:9090")
            }
            positive("\(path).prometheus.timeout", prometheus.timeout)
        }
        if let web = provider.web {
            if web.url.isEmpty {
                error("\(path).web.url", "must not be empty")
            }
            if let method = web.method, !["GET", "POST", "PUT"].contains(method) {
                error("\(path).web.method", "must be GET, POST or PUT, got \"\(method)\"")
            }
            if web.body != nil, web.jsonBody != nil {
                error("\(path).web", "must set only one of body and jsonBody")
            }
            if web.body != nil || web.jsonBody != nil, web.methodOrDefault == "GET" {
                error("\(path).web.method", "must be POST or PUT when a body is given")
            }
            positive("\(path).web.timeoutSeconds", web.timeoutSeconds)
        }
        if let job = provider.job {
            podTemplate(job.spec.template, path: "\(path).job.spec.template")
            if let policy = job.spec.template.spec.restartPolicy, policy == "Always" {
                error(
                    "\(path).job.spec.template.spec.restartPolicy", "must be Never or OnFailure for a job, got Always")
            }
            nonNegative("\(path).job.spec.backoffLimit", job.spec.backoffLimit)
        }
    }

    // MARK: Experiment

    mutating func experimentSpec(_ spec: ExperimentSpec) {
        if spec.templates.isEmpty {
            error("spec.templates", "must list at least one template")
        }
        var names: Set<String> = []
        for (index, template) in spec.templates.enumerated() {
            let path = "spec.templates[\(index)]"
            if !names.insert(template.name).inserted {
                error("\(path).name", "duplicate template name \"\(template.name)\"")
            }
            nonNegative("\(path).replicas", template.replicas)
            podTemplate(template.template, path: "\(path).template")
            if let selector = template.selector {
                selectorMatches(selector, template: template.template, selectorPath: "\(path).selector")
            } else {
                error("\(path).selector", "required; give matchLabels that match the template's labels")
            }
        }
        if let duration = spec.duration, duration.seconds <= 0 {
            error("spec.duration", "must be greater than 0, got \(duration)")
        }
        positive("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds)
        nonNegative("spec.scaleDownDelaySeconds", spec.scaleDownDelaySeconds)
        var analysisNames: Set<String> = []
        for (index, analysis) in (spec.analyses ?? []).enumerated() {
            let path = "spec.analyses[\(index)]"
            if !analysisNames.insert(analysis.name).inserted {
                error("\(path).name", "duplicate analysis name \"\(analysis.name)\"")
            }
            if analysis.templateName.isEmpty {
                error("\(path).templateName", "required; name an AnalysisTemplate")
            }
        }
        dryRunAndRetention(spec.dryRun, spec.measurementRetention, path: "spec")
    }

    // MARK: Service

    mutating func serviceSpec(_ spec: ServiceSpec) {
        let ports = spec.ports ?? []
        if ports.isEmpty {
            error("spec.ports", "must list at least one port, e.g. [{port: 8080, targetPort: http}]")
        }
        var names: Set<String> = []
        for (index, port) in ports.enumerated() {
            let path = "spec.ports[\(index)]"
            if !(1...65535).contains(port.port) {
                error("\(path).port", "must be between 1 and 65535, got \(port.port)")
            }
            if case .int(let target) = port.targetPort, !(1...65535).contains(target) {
                error("\(path).targetPort", "must be between 1 and 65535, got \(target)")
            }
            if ports.count > 1, (port.name ?? "").isEmpty {
                error("\(path).name", "required when a Service has more than one port")
            }
            if let name = port.name, !name.isEmpty, !names.insert(name).inserted {
                error("\(path).name", "duplicate port name \"\(name)\"")
            }
        }
        if let type = spec.type, !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(type) {
            error("spec.type", "must be ClusterIP, NodePort, LoadBalancer or ExternalName, got \"\(type)\"")
        }
    }

    // MARK: Helpers

    mutating func nonNegative(_ path: String, _ value: Int?) {
        if let value, value < 0 { error(path, "must be 0 or more, got \(value)") }
    }

    mutating func positive(_ path: String, _ value: Int?) {
        if let value, value < 1 { error(path, "must be 1 or more, got \(value)") }
    }

    /// An int-or-string that must be an integer or a percentage such as "25%".
    mutating func intOrPercent(_ path: String, _ value: IntOrString?) {
        guard let value else { return }
        switch value {
        case .int(let number) where number < 0:
            error(path, "must be 0 or more, got \(number)")
        case .string(let text):
            guard let percent = value.percent else {
                error(path, "must be an integer or a percentage such as \"25%\", got \"\(text)\"")
                return
            }
            if !(0...100).contains(percent) {
                error(path, "must be a percentage between 0% and 100%, got \"\(text)\"")
            }
        default:
            break
        }
    }

    /// The integer value of a count or limit; templated values (`"{{args.x}}"`) are checked once resolved.
    mutating func integer(_ path: String, _ value: IntOrString?) -> Int? {
        guard let value else { return nil }
        if let number = value.intValue { return number }
        if case .string(let text) = value, !text.contains("{{") {
            error(path, "must be an integer (or an argument such as \"{{args.count}}\"), got \"\(text)\"")
        }
        return nil
    }
}
