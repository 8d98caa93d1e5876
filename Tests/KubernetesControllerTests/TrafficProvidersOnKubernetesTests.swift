import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The seed's canary through each traffic router Argo drives, against the API server double with
/// the router's CRDs created by real kubectl: the object holds Argo's fields at 10%, header and
/// mirror routes come and go, abort returns the weights to 0/100, and a finished rollout leaves
/// the object as the user wrote it.
@Suite(.serialized) struct TrafficProvidersOnKubernetesTests {
    /// One router: its CRDs, the objects the user applies, the routing stanza, the steps' routes it
    /// takes, and where the canary's weight is read.
    struct Router {
        var name: String
        var crds: [(group: String, version: String, kind: String, plural: String)]
        var objects: String
        var routing: String
        var headerRoute: Bool
        var mirrorRoute: Bool
        /// `kubectl get` kind and name of the object that carries the split.
        var kind: String
        var object: String
        /// The name of the object the user applied (the carrier itself, but for NGINX's canary Ingress).
        var userObject: String
        /// The canary's weight as the object carries it.
        var weight: (JSONValue) -> Int?
        /// Annotations Argo leaves on the user's object when the rollout ends (ALB's action at
        /// weight 0, which the ALB needs, and the list of keys Argo manages).
        var annotationsLeft: [String] = []
        /// Template annotations, `VERSION` replaced by the image's tag (Consul's service meta).
        var templateAnnotations: [String: String] = [:]
        /// The namespace of the object that carries the split, when it is not the rollout's.
        var namespace: String?
    }

    static let services = ["web-stable", "web-canary"].map { name in
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name)}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---

        """
    }.joined()

    static func rollout(_ router: Router, image: String) -> String {
        var steps = ["- setWeight: 10"]
        var managed: [String] = []
        if router.headerRoute {
            steps.append(#"- setHeaderRoute: {name: header, match: [{headerName: X-Canary, headerValue: {exact: "yes"}}]}"#)
            managed.append("header")
        }
        if router.mirrorRoute {
            steps.append("- setMirrorRoute: {name: mirror, match: [{method: {exact: GET}}], percentage: 50}")
            managed.append("mirror")
        }
        steps += ["- pause: {}", "- setWeight: 33", "- pause: {}"]
        let managedRoutes = managed.isEmpty ? "" : "\n        managedRoutes: [" + managed.map { "{name: \($0)}" }.joined(separator: ", ") + "]"
        let tag = image.split(separator: ":").last.map(String.init) ?? image
        let annotations =
            router.templateAnnotations.isEmpty
            ? ""
            : "\n      annotations: {"
                + router.templateAnnotations.sorted { $0.key < $1.key }.map {
                    "\($0.key): \"\($0.value.replacingOccurrences(of: "VERSION", with: tag))\""
                }.joined(separator: ", ") + "}"
        return """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 4
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}\(annotations)
                spec:
                  containers:
                  - name: web
                    image: \(image)
                    ports: [{name: http, containerPort: 8080}]
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting:\(managedRoutes)
            \(router.routing.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
                  steps:
            \(steps.map { "      " + $0 }.joined(separator: "\n"))
            """
    }

    static func crd(group: String, version: String, kind: String, plural: String) -> String {
        """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: \(plural).\(group)}
        spec:
          group: \(group)
          scope: Namespaced
          names: {kind: \(kind), listKind: \(kind)List, plural: \(plural), singular: \(kind.lowercased())}
          versions:
          - name: \(version)
            served: true
            storage: true
            schema:
              openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
        """
    }

    /// What a diff against the user's object leaves out: the server's bookkeeping and Argo's own marks.
    static func asWritten(_ object: JSONValue) -> JSONValue {
        var object = object
        var metadata = object["metadata"]?.objectValue ?? [:]
        for field in ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"] {
            metadata.removeValue(forKey: field)
        }
        var annotations = metadata["annotations"]?.objectValue ?? [:]
        annotations.removeValue(forKey: "kubectl.kubernetes.io/last-applied-configuration")
        annotations.removeValue(forKey: "argo-rollouts.argoproj.io/managed-by-rollouts")
        metadata["annotations"] = annotations.isEmpty ? nil : .object(annotations)
        object["metadata"] = .object(metadata)
        object["status"] = nil
        return object
    }

    func run(
        _ router: Router, extraCheck: (ClusterUnderTest, JSONValue) throws -> Void,
        atEnd: (ClusterUnderTest) async throws -> Void = { _ in }
    ) async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        for crd in router.crds {
            try cluster.kubectl(["create", "-f", "-"], input: Self.crd(group: crd.group, version: crd.version, kind: crd.kind, plural: crd.plural))
        }
        try cluster.kubectl(["apply", "-f", "-"], input: Self.services + router.objects)
        let written = try #require(try cluster.object(router.kind, router.userObject, namespace: router.namespace))
        func asUserWroteIt() throws -> Bool {
            var now = Self.asWritten(try cluster.object(router.kind, router.userObject, namespace: router.namespace) ?? [:])
            for key in router.annotationsLeft { now[path: "metadata", "annotations", key] = nil }
            if now[path: "metadata", "annotations"] == [:] { now[path: "metadata", "annotations"] = nil }
            return now == Self.asWritten(written)
        }
        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v1"))
        let controller = try cluster.startController()
        func status() throws -> JSONValue { try cluster.object("rollout", "web")?["status"] ?? [:] }
        func carrier() throws -> JSONValue { try cluster.object(router.kind, router.object, namespace: router.namespace) ?? [:] }
        func wait(_ what: String, _ condition: (JSONValue, JSONValue) -> Bool) async throws {
            var last: (JSONValue, JSONValue) = ([:], [:])
            let held = try await eventually(within: 120) {
                last = (try status(), try carrier())
                return condition(last.0, last.1)
            }
            let log = (try? String(contentsOfFile: controller.log, encoding: .utf8)) ?? ""
            try #require(held, "\(router.name): \(what): status \(last.0)\nobject \(last.1)\nlog \(log.suffix(3000))")
        }
        try await wait("v1 goes Healthy") { status, _ in status["phase"]?.stringValue == "Healthy" }

        let pauseStep = 1 + (router.headerRoute ? 1 : 0) + (router.mirrorRoute ? 1 : 0)
        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v2"))
        try await wait("v2 pauses with 10% on the canary") { status, object in
            status["phase"]?.stringValue == "Paused" && status["currentStepIndex"]?.integerValue == Int64(pauseStep)
                && router.weight(object) == 10
        }
        try extraCheck(cluster, try carrier())

        try cluster.kubectl(["patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"abort":true}}"#])
        try await wait("abort returns the weights to 0/100 and removes the routes") { status, object in
            status["phase"]?.stringValue == "Degraded" && router.weight(object) == 0
        }
        #expect(try asUserWroteIt(), "\(router.name): after abort")

        try cluster.kubectl(["patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"abort":false}}"#])
        try await wait("retry runs the steps again") { status, object in
            status["phase"]?.stringValue == "Paused" && router.weight(object) == 10
        }
        try cluster.kubectl(["patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"promoteFull":true}}"#])
        try await wait("a full promotion ends with the object as the user wrote it") { status, object in
            status["phase"]?.stringValue == "Healthy" && status["stableRS"] == status["currentPodHash"]
                && router.weight(object) == 0
        }
        #expect(try asUserWroteIt(), "\(router.name): after the full promotion")
        try await atEnd(cluster)
    }

    static func json(_ yaml: String) -> JSONValue { TrafficObjectTests.json(yaml) }

    static func nginxRouter() -> Router {
        Router(
            name: "nginx", crds: [],
            objects: """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata:
                  name: web
                  annotations: {kubernetes.io/ingress.class: nginx}
                spec:
                  rules:
                  - host: web.example.com
                    http:
                      paths:
                      - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {number: 80}}}}
                """,
            routing: "nginx: {stableIngress: web}", headerRoute: true, mirrorRoute: false,
            kind: "ingress", object: "web-web-canary", userObject: "web",
            weight: { $0[at: "metadata", "annotations", "nginx.ingress.kubernetes.io/canary-weight"]?.stringValue.flatMap { Int($0) } })
    }

    @Test func nginxCanaryIngress() async throws {
        let router = Self.nginxRouter()
        try await run(router) { cluster, canary in
            #expect(
                canary[at: "metadata", "annotations"]
                    == Self.json(
                        """
                        kubernetes.io/ingress.class: nginx
                        nginx.ingress.kubernetes.io/canary: "true"
                        nginx.ingress.kubernetes.io/canary-weight: "10"
                        nginx.ingress.kubernetes.io/canary-by-header: X-Canary
                        nginx.ingress.kubernetes.io/canary-by-header-value: "yes"
                        """))
            #expect(canary[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Rollout")
            #expect(canary[at: "metadata", "ownerReferences", 0, "controller"] == .bool(true))
            #expect(
                canary[at: "spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"]?.stringValue == "web-canary")
            // The user's Ingress is read, never written.
            let stable = try #require(try cluster.object("ingress", "web"))
            #expect(stable[at: "metadata", "annotations", "nginx.ingress.kubernetes.io/canary"] == nil)
        }
    }

    static func istioRouter() -> Router {
        Router(
            name: "istio", crds: [("networking.istio.io", "v1alpha3", "VirtualService", "virtualservices")],
            objects: """
                apiVersion: networking.istio.io/v1alpha3
                kind: VirtualService
                metadata: {name: web}
                spec:
                  hosts: [web.example.com]
                  http:
                  - name: primary
                    route:
                    - destination: {host: web-stable}
                      weight: 100
                    - destination: {host: web-canary}
                      weight: 0
                """,
            routing: "istio: {virtualService: {name: web, routes: [primary]}}", headerRoute: true, mirrorRoute: true,
            kind: "virtualservices.networking.istio.io", object: "web", userObject: "web",
            weight: { object in
                let primary = object[at: "spec", "http"]?.arrayValue?.first { $0["name"]?.stringValue == "primary" }
                let canary = primary?["route"]?.arrayValue?.first { $0[at: "destination", "host"]?.stringValue == "web-canary" }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
    }

    @Test func istioVirtualService() async throws {
        let router = Self.istioRouter()
        try await run(router) { _, service in
            let http = service[at: "spec", "http"]?.arrayValue ?? []
            #expect(http.map { $0["name"]?.stringValue ?? "" } == ["header", "mirror", "primary"])
            #expect(
                http.first
                    == Self.json(
                        """
                        name: header
                        match: [{headers: {X-Canary: {exact: "yes"}}}]
                        route: [{destination: {host: web-canary}, weight: 100}]
                        """))
            #expect(http.dropFirst().first?["mirror"] == Self.json("{host: web-canary}"))
            #expect(http.dropFirst().first?["mirrorPercentage"] == Self.json("{value: 50}"))
        }
    }

    /// Argo drives every router a rollout names, and so does Aviary: NGINX and Istio together get
    /// the same weights and the header route; the mirror route goes to Istio, which NGINX cannot
    /// carry and leaves alone.
    @Test func everyRouterNamedIsDriven() async throws {
        let (nginx, istio) = (Self.nginxRouter(), Self.istioRouter())
        var router = istio
        router.name = "nginx and istio"
        router.objects = nginx.objects + "\n---\n" + istio.objects
        router.routing = nginx.routing + "\n" + istio.routing
        func canaryIngress(_ cluster: ClusterUnderTest) throws -> JSONValue {
            try cluster.object("ingress", "web-web-canary")?[at: "metadata", "annotations"] ?? [:]
        }
        try await run(
            router,
            extraCheck: { cluster, service in
                #expect(
                    service[at: "spec", "http"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" }
                        == ["header", "mirror", "primary"])
                let annotations = try canaryIngress(cluster)
                #expect(annotations["nginx.ingress.kubernetes.io/canary-weight"]?.stringValue == "10")
                #expect(annotations["nginx.ingress.kubernetes.io/canary-by-header"]?.stringValue == "X-Canary")
                #expect(annotations["nginx.ingress.kubernetes.io/canary-by-header-value"]?.stringValue == "yes")
            },
            atEnd: { cluster in
                // The full promotion sent NGINX's canary back to 0 as well, its header route gone.
                let annotations = try canaryIngress(cluster)
                #expect(annotations["nginx.ingress.kubernetes.io/canary-weight"]?.stringValue == "0")
                #expect(annotations["nginx.ingress.kubernetes.io/canary-by-header"] == nil)
            })
    }

    @Test func gatewayAPIHTTPRoute() async throws {
        let router = Router(
            name: "gatewayAPI", crds: [("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")],
            objects: """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web}
                spec:
                  parentRefs: [{name: gateway}]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: /}}]
                    backendRefs:
                    - {name: web-stable, port: 80, weight: 100}
                    - {name: web-canary, port: 80, weight: 0}
                status:
                  parents:
                  - parentRef: {name: gateway}
                    controllerName: example.com/gateway
                    conditions: [{type: Accepted, status: "True", observedGeneration: 1, reason: Accepted}]
                """,
            routing: #"plugins: {"argoproj-labs/gatewayAPI": {httpRoute: web}}"#, headerRoute: true, mirrorRoute: true,
            kind: "httproutes.gateway.networking.k8s.io", object: "web", userObject: "web",
            weight: { object in
                let rule = object[at: "spec", "rules"]?.arrayValue?.first { $0["name"] == nil }
                let canary = rule?["backendRefs"]?.arrayValue?.first { $0["name"]?.stringValue == "web-canary" }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(router) { cluster, route in
            // weights.verified from the route's parents: not yet for the generation Aviary wrote,
            // then yes once the gateway says it accepted it.
            func verified() throws -> JSONValue? {
                try cluster.object("rollout", "web")?[at: "status", "canary", "weights", "verified"]
            }
            #expect(try verified() == .bool(false))
            try cluster.kubectl([
                "patch", "httproutes.gateway.networking.k8s.io", "web", "--type", "merge", "-p",
                #"{"status":{"parents":[{"parentRef":{"name":"gateway"},"controllerName":"example.com/gateway","conditions":[{"type":"Accepted","status":"True","observedGeneration":1000,"reason":"Accepted"}]}]}}"#,
            ])
            var accepted = false
            for _ in 0..<120 where !accepted {
                accepted = try verified() == .bool(true)
                if !accepted { Thread.sleep(forTimeInterval: 0.5) }
            }
            #expect(accepted, "the rollout says verified once the gateway accepted the route")
            let rules = route[at: "spec", "rules"]?.arrayValue ?? []
            #expect(rules.map { $0["name"]?.stringValue ?? "" } == ["", "header", "mirror"])
            #expect(route[at: "metadata", "labels", "rollouts.argoproj.io/gatewayapi-canary"]?.stringValue == "in-progress")
            #expect(
                rules.dropFirst().first?["backendRefs"] == Self.json(#"[{group: "", kind: Service, name: web-canary, port: 80}]"#))
            #expect(rules.last?[at: "filters", 0, "type"]?.stringValue == "RequestMirror")
        }
    }

    @Test func traefikWeightedService() async throws {
        let router = Router(
            name: "traefik", crds: [("traefik.io", "v1alpha1", "TraefikService", "traefikservices")],
            objects: """
                apiVersion: traefik.io/v1alpha1
                kind: TraefikService
                metadata: {name: web}
                spec:
                  weighted:
                    services:
                    - {name: web-stable, port: 80, weight: 100}
                    - {name: web-canary, port: 80, weight: 0}
                """,
            routing: "traefik: {weightedTraefikServiceName: web}", headerRoute: false, mirrorRoute: false,
            kind: "traefikservices.traefik.io", object: "web", userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "weighted", "services"]?.arrayValue?.first { $0["name"]?.stringValue == "web-canary" }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(router) { _, service in
            #expect(
                service[at: "spec", "weighted", "services"]
                    == Self.json("[{name: web-stable, port: 80, weight: 90}, {name: web-canary, port: 80, weight: 10}]"))
        }
    }

    /// The status of the rollout `web`.
    static func rolloutStatus(_ cluster: ClusterUnderTest) throws -> JSONValue {
        try cluster.object("rollout", "web")?["status"] ?? [:]
    }

    /// Waits (up to 120 s) for the rollout `web`'s status to meet `condition`; fails with the last
    /// status and the controller's log.
    static func waitForRollout(
        _ cluster: ClusterUnderTest, controllerLog: String, _ what: String, _ condition: (JSONValue) -> Bool
    ) async throws {
        var last: JSONValue = [:]
        let held = try await eventually(within: 120) {
            last = try rolloutStatus(cluster)
            return condition(last)
        }
        let log = (try? String(contentsOfFile: controllerLog, encoding: .utf8)) ?? ""
        try #require(held, "\(what): status \(last)\nlog \(log.suffix(3000))")
    }

    /// An Ingress for the AWS Load Balancer Controller whose rule sends to the stable Service's action.
    static let albIngress = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          annotations: {alb.ingress.kubernetes.io/scheme: internet-facing}
        spec:
          ingressClassName: alb
          rules:
          - http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
        """

    /// A VirtualService whose one HTTP route sends all to `stable` and nothing to `canary`.
    static func virtualService(stable: String, canary: String) -> String {
        """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata: {name: web}
        spec:
          hosts: [web.example.com]
          http:
          - route:
            - destination: {host: \(stable)}
              weight: 100
            - destination: {host: \(canary)}
              weight: 0
        """
    }

    /// The weights of the first HTTP route of the VirtualService `web`, by host.
    static func istioWeights(_ cluster: ClusterUnderTest) throws -> [String: Int] {
        var weights: [String: Int] = [:]
        for destination in try cluster.object("virtualservice", "web")?[at: "spec", "http", 0, "route"]?.arrayValue ?? [] {
            if let host = destination[at: "destination", "host"]?.stringValue {
                weights[host] = Int(destination["weight"]?.integerValue ?? -1)
            }
        }
        return weights
    }

    /// The target groups' weights of an ALB Ingress's action annotation, by Service.
    static func albWeights(_ ingress: JSONValue, action: String) -> [String: Int] {
        guard let text = ingress[at: "metadata", "annotations", action]?.stringValue,
            let value = try? JSONValue(parsing: Array(text.utf8))
        else { return [:] }
        var weights: [String: Int] = [:]
        for group in value[at: "ForwardConfig", "TargetGroups"]?.arrayValue ?? [] {
            if let name = group["ServiceName"]?.stringValue, let weight = group["Weight"]?.integerValue {
                weights[name] = Int(weight)
            }
        }
        return weights
    }

    @Test func albIngressAction() async throws {
        let action = "alb.ingress.kubernetes.io/actions.web-stable"
        func weights(_ object: JSONValue) -> [String: Int] { Self.albWeights(object, action: action) }
        let router = Router(
            name: "alb", crds: [],
            objects: Self.albIngress, routing: "alb: {ingress: web, servicePort: 80}", headerRoute: true, mirrorRoute: false,
            kind: "ingress", object: "web", userObject: "web",
            weight: { weights($0)["web-canary"] },
            annotationsLeft: [action, "rollouts.argoproj.io/managed-alb-annotations"])
        try await run(router) { _, ingress in
            #expect(weights(ingress) == ["web-canary": 10, "web-stable": 90])
            #expect(
                ingress[at: "metadata", "annotations", "alb.ingress.kubernetes.io/conditions.header"]?.stringValue
                    == #"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}}]"#)
            #expect(
                ingress[at: "spec", "rules", 0, "http", "paths"]
                    == Self.json(
                        """
                        - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: header, port: {name: use-annotation}}}}
                        - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
                        """))
        }
    }

    /// Argo's ALB check against AWS (`--aws-verify-target-group`), with moto as AWS: the setWeight
    /// step holds while the load balancer of the Ingress's status forwards another weight to the
    /// canary's target group, `status.alb` names the load balancer and target groups, and the
    /// rollout goes on once the listener carries the weight (as the AWS Load Balancer Controller
    /// would set it from the annotation).
    @Test(.enabled(if: MotoServer.isRequired, "moto is not installed"))
    func albWeightsVerifiedAgainstAWS() async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let moto = try await MotoServer()
        defer { moto.stop() }
        let balancer = try moto.createLoadBalancer(
            name: "k8s-default-web", namespace: "default", ingress: "web", services: ["web-stable", "web-canary"],
            port: 80)
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        let router = Router(
            name: "alb", crds: [],
            objects: Self.albIngress, routing: "alb: {ingress: web, servicePort: 80}", headerRoute: false, mirrorRoute: false,
            kind: "ingress", object: "web", userObject: "web", weight: { _ in nil })
        try cluster.kubectl(["apply", "-f", "-"], input: Self.services + router.objects)
        try cluster.kubectl([
            "patch", "ingress", "web", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"loadBalancer":{"ingress":[{"hostname":"\#(balancer.dnsName)"}]}}}"#,
        ])
        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v1"))
        let controller = try cluster.startController(["--aws-verify-target-group"], environment: moto.environment)
        func status() throws -> JSONValue { try Self.rolloutStatus(cluster) }
        func wait(_ what: String, _ condition: (JSONValue) -> Bool) async throws {
            try await Self.waitForRollout(cluster, controllerLog: controller.log, what, condition)
        }
        try await wait("v1 goes Healthy") { $0["phase"]?.stringValue == "Healthy" }

        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v2"))
        try await wait("the setWeight step holds while AWS forwards 0 to the canary") { status in
            status[at: "canary", "weights", "canary", "weight"]?.integerValue == 10
                && status[at: "canary", "weights", "verified"] == false
        }
        // Held: still at step 0 a while later, and the load balancer and target groups are named.
        try await Task.sleep(for: .seconds(3))
        let held = try status()
        #expect(held["currentStepIndex"]?.integerValue == 0)
        #expect(held[at: "alb", "loadBalancer", "name"]?.stringValue == "k8s-default-web")
        #expect(held[at: "alb", "loadBalancer", "arn"]?.stringValue == balancer.loadBalancerArn)
        #expect(
            held[at: "alb", "loadBalancer", "fullName"]?.stringValue
                == balancer.loadBalancerArn.split(separator: "/").dropFirst(2).joined(separator: "/"))
        #expect(held[at: "alb", "canaryTargetGroup", "arn"]?.stringValue == balancer.targetGroups["web-canary"])
        #expect(held[at: "alb", "canaryTargetGroup", "name"]?.stringValue == "k8s-default-web-web-canary")
        #expect(held[at: "alb", "stableTargetGroup", "arn"]?.stringValue == balancer.targetGroups["web-stable"])
        #expect(held[at: "alb", "ingress"]?.stringValue == "web")
        #expect(held["albs"]?.arrayValue?.count == 1)
        let unverified = try cluster.list("events").filter { $0["reason"]?.stringValue == "TargetGroupUnverified" }
        #expect(
            unverified.first?["message"]?.stringValue
                == "Service web-canary (TargetGroup \(balancer.targetGroups["web-canary"] ?? "")) not verified: canary "
                + "weight 10 not yet set (current: 0)")

        try moto.setWeights(balancer, ["web-stable": 90, "web-canary": 10])
        try await wait("once AWS forwards 10 the rollout goes on to the pause") { status in
            status["phase"]?.stringValue == "Paused" && status["currentStepIndex"]?.integerValue == 1
                && status[at: "canary", "weights", "verified"] == true
        }
        let verified = try cluster.list("events").filter { $0["reason"]?.stringValue == "TargetGroupVerified" }
        #expect(
            verified.first?["message"]?.stringValue
                == "Service web-canary (TargetGroup \(balancer.targetGroups["web-canary"] ?? "")) verified: canary weight "
                + "10 set")
    }

    /// Argo's target-group registration check (`--aws-verify-target-group`) for blue-green, with
    /// moto as AWS: once the active Service selects the new pods, the new version becomes stable
    /// only when every endpoint address of the Service is a registered target of the IP-mode
    /// target group its TargetGroupBinding binds (the test plays the endpoints controller and the
    /// AWS Load Balancer Controller). EKS Auto Mode's TargetGroupBindings are in another group,
    /// named with `--aws-target-group-binding-api-version`.
    @Test(
        .enabled(if: MotoServer.isRequired, "moto is not installed"),
        arguments: ["elbv2.k8s.aws/v1beta1", "eks.amazonaws.com/v1"])
    func blueGreenWaitsForItsPodsInTheTargetGroup(bindingVersion: String) async throws {
        let binding = bindingVersion.split(separator: "/").map(String.init)
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let moto = try await MotoServer()
        defer { moto.stop() }
        let targetGroup = try moto.createTargetGroup(name: "k8s-default-webactive", port: 8080)
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        try cluster.kubectl(
            ["create", "-f", "-"],
            input: Self.crd(
                group: binding[0], version: binding[1], kind: "TargetGroupBinding", plural: "targetgroupbindings"))
        let rollout = { (image: String) in
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 2
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}
                spec:
                  containers: [{name: web, image: "\(image)", ports: [{name: http, containerPort: 8080}]}]
              strategy:
                blueGreen: {activeService: web-active, previewService: web-preview}
            """
        }
        try cluster.kubectl(
            ["apply", "-f", "-"],
            input: ["web-active", "web-preview"].map { name in
                """
                apiVersion: v1
                kind: Service
                metadata: {name: \(name)}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---

                """
            }.joined() + """
                apiVersion: \(bindingVersion)
                kind: TargetGroupBinding
                metadata: {name: web-active}
                spec:
                  serviceRef: {name: web-active, port: 80}
                  targetGroupARN: \(targetGroup)
                  targetType: ip
                ---
                apiVersion: v1
                kind: Endpoints
                metadata: {name: web-active}
                subsets:
                - addresses: [{ip: 10.1.0.5}, {ip: 10.1.0.6}]
                  ports: [{name: http, port: 8080}]
                ---
                \(rollout("web:v1"))
                """)
        let controller = try cluster.startController(
            ["--aws-verify-target-group", "--aws-target-group-binding-api-version", bindingVersion],
            environment: moto.environment)
        func status() throws -> JSONValue { try Self.rolloutStatus(cluster) }
        func wait(_ what: String, _ condition: (JSONValue) -> Bool) async throws {
            try await Self.waitForRollout(cluster, controllerLog: controller.log, what, condition)
        }
        try await wait("v1 goes Healthy") { $0["phase"]?.stringValue == "Healthy" }
        let v1 = try status()["stableRS"]?.stringValue

        try cluster.kubectl(["apply", "-f", "-"], input: rollout("web:v2"))
        try await wait("the active Service switches to v2") { status in
            let current = status["currentPodHash"]?.stringValue
            return current != v1 && status[at: "blueGreen", "activeSelector"]?.stringValue == current
        }
        try await Task.sleep(for: .seconds(3))
        #expect(try status()["stableRS"]?.stringValue == v1, "not stable while no pod is registered")
        let unverified = try cluster.list("events").filter { $0["reason"]?.stringValue == "TargetGroupUnverified" }
        #expect(
            unverified.first?["message"]?.stringValue
                == "Service web-active (TargetGroup \(targetGroup)) not verified: 0/2 endpoints registered")

        try moto.registerTargets(targetGroup, ["10.1.0.5:8080"])
        try await Task.sleep(for: .seconds(7))
        #expect(try status()["stableRS"]?.stringValue == v1, "one of two is not enough")
        try moto.registerTargets(targetGroup, ["10.1.0.6:8080"])
        try await wait("v2 becomes stable once both are registered") { status in
            status["stableRS"] == status["currentPodHash"] && status["phase"]?.stringValue == "Healthy"
        }
        let verified = try cluster.list("events").filter { $0["reason"]?.stringValue == "TargetGroupVerified" }
        #expect(
            verified.first?["message"]?.stringValue
                == "Service web-active (TargetGroup \(targetGroup)) verified: 2 endpoints registered")
    }

    /// Ambassador: a canary Mapping beside the user's, at the canary's weight, deleted a few
    /// seconds after the weight is back to 0 (the user's Mapping is never written).
    @Test func ambassadorCanaryMapping() async throws {
        let router = Router(
            name: "ambassador", crds: [("getambassador.io", "v2", "Mapping", "mappings")],
            objects: """
                apiVersion: getambassador.io/v2
                kind: Mapping
                metadata: {name: web}
                spec: {prefix: /, service: "web-stable:80"}
                """,
            routing: "ambassador: {mappings: [web]}", headerRoute: false, mirrorRoute: false,
            kind: "mappings.getambassador.io", object: "web-canary", userObject: "web",
            // Once deleted, the canary Mapping weighs nothing.
            weight: { $0["spec"] == nil ? 0 : $0[at: "spec", "weight"]?.integerValue.map { Int($0) } })
        try await run(router) { _, canary in
            #expect(canary[at: "spec"] == Self.json(#"{prefix: /, service: "web-canary:80", weight: 10}"#))
            #expect(canary[at: "metadata", "ownerReferences"] == nil)
        } atEnd: { cluster in
            let gone = try await eventually(within: 60) { try cluster.object("mappings.getambassador.io", "web-canary") == nil }
            #expect(gone, "the canary Mapping is deleted once its weight is 0")
        }
    }

    /// APISIX: the user's ApisixRoute gets the weights; the header route is an ApisixRoute of its
    /// own, owned by the rollout, deleted when the route ends.
    @Test func apisixRoute() async throws {
        let kind = "apisixroutes.apisix.apache.org"
        let router = Router(
            name: "apisix", crds: [("apisix.apache.org", "v2", "ApisixRoute", "apisixroutes")],
            objects: """
                apiVersion: apisix.apache.org/v2
                kind: ApisixRoute
                metadata: {name: web}
                spec:
                  http:
                  - name: web
                    match: {paths: [/*]}
                    backends:
                    - {serviceName: web-stable, servicePort: 80, weight: 100}
                    - {serviceName: web-canary, servicePort: 80, weight: 0}
                """,
            routing: "apisix: {route: {name: web}}", headerRoute: true, mirrorRoute: false,
            kind: kind, object: "web", userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "http", 0, "backends"]?.arrayValue?.first {
                    $0["serviceName"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(router) { cluster, route in
            #expect(
                route[at: "spec", "http", 0, "backends"]
                    == Self.json(
                        "[{serviceName: web-stable, servicePort: 80, weight: 90}, {serviceName: web-canary, servicePort: 80, weight: 10}]"
                    ))
            let header = try #require(try cluster.object(kind, "header"))
            #expect(header[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Rollout")
            #expect(header[at: "spec", "http", 0, "priority"]?.integerValue == 1)
            #expect(header[at: "spec", "http", 0, "backends"] == Self.json("[{serviceName: web-canary, servicePort: 80, weight: 100}]"))
            #expect(
                header[at: "spec", "http", 0, "match", "exprs"]
                    == Self.json(#"[{subject: {scope: Header, name: X-Canary}, op: Equal, value: "yes"}]"#))
        } atEnd: { cluster in
            let header = try cluster.object(kind, "header")
            #expect(header == nil, "the header route's ApisixRoute is gone")
        }
    }

    /// App Mesh: the VirtualRouter the VirtualService names gets the weights, and the two
    /// VirtualNodes select the stable and canary pods by hash.
    @Test func appMeshVirtualRouter() async throws {
        let kinds = ["VirtualService", "VirtualRouter", "VirtualNode"]
        let router = Router(
            name: "appMesh",
            crds: kinds.map { ("appmesh.k8s.aws", "v1beta2", $0, $0.lowercased() + "s") },
            objects: """
                apiVersion: appmesh.k8s.aws/v1beta2
                kind: VirtualService
                metadata: {name: web}
                spec:
                  awsName: web.default.svc.cluster.local
                  provider: {virtualRouter: {virtualRouterRef: {name: web-router}}}
                ---
                apiVersion: appmesh.k8s.aws/v1beta2
                kind: VirtualNode
                metadata: {name: web-canary}
                spec: {podSelector: {matchLabels: {app: web}}, listeners: [{portMapping: {port: 8080, protocol: http}}]}
                ---
                apiVersion: appmesh.k8s.aws/v1beta2
                kind: VirtualNode
                metadata: {name: web-stable}
                spec: {podSelector: {matchLabels: {app: web}}, listeners: [{portMapping: {port: 8080, protocol: http}}]}
                ---
                apiVersion: appmesh.k8s.aws/v1beta2
                kind: VirtualRouter
                metadata: {name: web-router}
                spec:
                  listeners: [{portMapping: {port: 8080, protocol: http}}]
                  routes:
                  - name: primary
                    httpRoute:
                      match: {prefix: /}
                      action:
                        weightedTargets:
                        - {virtualNodeRef: {name: web-canary}, weight: 0}
                        - {virtualNodeRef: {name: web-stable}, weight: 100}
                """,
            routing: """
                appMesh:
                  virtualService: {name: web, routes: [primary]}
                  virtualNodeGroup: {canaryVirtualNodeRef: {name: web-canary}, stableVirtualNodeRef: {name: web-stable}}
                """,
            headerRoute: false, mirrorRoute: false,
            kind: "virtualrouters.appmesh.k8s.aws", object: "web-router", userObject: "web-router",
            weight: { object in
                let canary = object[at: "spec", "routes", 0, "httpRoute", "action", "weightedTargets"]?.arrayValue?.first {
                    $0[at: "virtualNodeRef", "name"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(router) { cluster, virtualRouter in
            #expect(
                virtualRouter[at: "spec", "routes", 0, "httpRoute", "action", "weightedTargets"]
                    == Self.json("[{virtualNodeRef: {name: web-canary}, weight: 10}, {virtualNodeRef: {name: web-stable}, weight: 90}]"))
            let status = try cluster.object("rollout", "web")?["status"] ?? [:]
            for (node, hash) in [("web-stable", status["stableRS"]), ("web-canary", status["currentPodHash"])] {
                let object = try #require(try cluster.object("virtualnodes.appmesh.k8s.aws", node))
                #expect(object[at: "spec", "podSelector", "matchLabels", "rollouts-pod-template-hash"] == hash, "\(node)")
                #expect(object[at: "spec", "podSelector", "matchLabels", "app"] == "web")
            }
        }
    }

    /// Contour (Argo's `argoproj-labs/contour` plugin, run by Aviary itself): the weights of the
    /// canary and stable Services in the HTTPProxy's routes.
    @Test func contourHTTPProxy() async throws {
        let router = Router(
            name: "contour", crds: [("projectcontour.io", "v1", "HTTPProxy", "httpproxies")],
            objects: """
                apiVersion: projectcontour.io/v1
                kind: HTTPProxy
                metadata: {name: web}
                spec:
                  virtualhost: {fqdn: web.example.com}
                  routes:
                  - conditions: [{prefix: /}]
                    services:
                    - {name: web-stable, port: 80, weight: 100}
                    - {name: web-canary, port: 80, weight: 0}
                """,
            routing: "plugins:\n  argoproj-labs/contour: {httpProxies: [web]}", headerRoute: false, mirrorRoute: false,
            kind: "httpproxies.projectcontour.io", object: "web", userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "routes", 0, "services"]?.arrayValue?.first {
                    $0["name"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(router) { _, proxy in
            #expect(
                proxy[at: "spec", "routes", 0, "services"]
                    == Self.json("[{name: web-stable, port: 80, weight: 90}, {name: web-canary, port: 80, weight: 10}]"))
        }
    }

    /// OpenShift (Argo's `argoproj-labs/openshift` plugin, run by Aviary itself): the Route's
    /// default backend keeps the stable share, the canary is its one alternate backend.
    @Test func openshiftRoute() async throws {
        let router = Router(
            name: "openshift", crds: [("route.openshift.io", "v1", "Route", "routes")],
            objects: """
                apiVersion: route.openshift.io/v1
                kind: Route
                metadata: {name: web}
                spec:
                  host: web.apps.example.com
                  to: {kind: Service, name: web-stable, weight: 100}
                """,
            routing: "plugins:\n  argoproj-labs/openshift: {routes: [web]}", headerRoute: false, mirrorRoute: false,
            kind: "routes.route.openshift.io", object: "web", userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "alternateBackends"]?.arrayValue?.first {
                    $0["name"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) } ?? 0
            })
        try await run(router) { _, route in
            #expect(route[at: "spec", "to"] == Self.json("{kind: Service, name: web-stable, weight: 90}"))
            #expect(route[at: "spec", "alternateBackends"] == Self.json("[{kind: Service, name: web-canary, weight: 10}]"))
        }
    }

    /// Gloo Edge (Argo's `solo-io/glooedge` plugin, run by Aviary itself): the RouteTables
    /// selected by labels get the canary destination beside the stable one; one without the stable
    /// upstream is left alone.
    @Test func glooEdgeRouteTables() async throws {
        let router = Router(
            name: "glooedge",
            crds: [
                ("gateway.solo.io", "v1", "RouteTable", "routetables"),
                ("gateway.solo.io", "v1", "VirtualService", "virtualservices"),
            ],
            objects: """
                apiVersion: gateway.solo.io/v1
                kind: RouteTable
                metadata: {name: web, labels: {team: web}}
                spec:
                  routes:
                  - name: main
                    matchers: [{prefix: /}]
                    routeAction:
                      multi:
                        destinations:
                        - {destination: {upstream: {name: web-stable, namespace: default}}, weight: 100}
                        - {destination: {upstream: {name: web-canary, namespace: default}}, weight: 0}
                ---
                apiVersion: gateway.solo.io/v1
                kind: RouteTable
                metadata: {name: assets, labels: {team: web}}
                spec:
                  routes:
                  - name: main
                    routeAction: {single: {upstream: {name: assets, namespace: default}}}
                """,
            routing: "plugins:\n  solo-io/glooedge: {routeTable: {labels: {team: web}}, routes: [main]}",
            headerRoute: false, mirrorRoute: false, kind: "routetables.gateway.solo.io", object: "web", userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "routes", 0, "routeAction", "multi", "destinations"]?.arrayValue?.first {
                    $0[path: "destination", "upstream", "name"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        try await run(
            router,
            extraCheck: { cluster, table in
                #expect(
                    table[at: "spec", "routes", 0, "routeAction", "multi", "destinations"]?.arrayValue?.map {
                        $0["weight"]
                    } == [90, 10])
                let assets = try cluster.object("routetables.gateway.solo.io", "assets")
                #expect(assets?[at: "spec", "routes", 0, "routeAction"] == Self.json("{single: {upstream: {name: assets, namespace: default}}}"))
            })
    }

    /// Consul (Argo's `hashicorp/consul` plugin, run by Aviary itself): the ServiceSplitter's subset
    /// weights, and the ServiceResolver's filters following the template's version.
    @Test func consulSubsets() async throws {
        var router = Router(
            name: "consul",
            crds: [
                ("consul.hashicorp.com", "v1alpha1", "ServiceSplitter", "servicesplitters"),
                ("consul.hashicorp.com", "v1alpha1", "ServiceResolver", "serviceresolvers"),
            ],
            objects: """
                apiVersion: consul.hashicorp.com/v1alpha1
                kind: ServiceSplitter
                metadata: {name: web}
                spec:
                  splits:
                  - {weight: 100, serviceSubset: stable}
                  - {weight: 0, serviceSubset: canary}
                ---
                apiVersion: consul.hashicorp.com/v1alpha1
                kind: ServiceResolver
                metadata: {name: web}
                spec:
                  defaultSubset: stable
                  subsets:
                    stable: {filter: Service.Meta.version == v1}
                    canary: {filter: ""}
                """,
            routing: "plugins:\n  hashicorp/consul: {serviceName: web, canarySubsetName: canary, stableSubsetName: stable}",
            headerRoute: false, mirrorRoute: false, kind: "servicesplitters.consul.hashicorp.com", object: "web",
            userObject: "web",
            weight: { object in
                let canary = object[at: "spec", "splits"]?.arrayValue?.first { $0["serviceSubset"]?.stringValue == "canary" }
                return canary?["weight"]?.integerValue.map { Int($0) }
            })
        router.templateAnnotations = ["consul.hashicorp.com/service-meta-version": "VERSION"]
        func filters(_ cluster: ClusterUnderTest) throws -> [String?] {
            let resolver = try cluster.object("serviceresolvers.consul.hashicorp.com", "web")
            return ["stable", "canary"].map { resolver?[at: "spec", "subsets", $0, "filter"]?.stringValue }
        }
        try await run(
            router,
            extraCheck: { cluster, _ in
                let running = try filters(cluster)
                #expect(running == ["Service.Meta.version == v1", "Service.Meta.version == v2"])
            },
            atEnd: { cluster in
                // Complete: the stable subset is the new version, the canary subset selects nothing.
                let complete = try filters(cluster)
                #expect(complete == ["Service.Meta.version == v2", ""])
            })
    }

    /// Gloo Platform (Argo's `solo-io/glooplatform` plugin, run by Aviary itself): a RouteTable in
    /// another namespace, selected by labels; the route that forwards to the stable Service is split
    /// and the header route is its copy to the canary, first in the table.
    @Test func glooPlatformRouteTable() async throws {
        let router = Router(
            name: "glooplatform",
            crds: [("networking.gloo.solo.io", "v2", "RouteTable", "routetables")],
            objects: """
                apiVersion: v1
                kind: Namespace
                metadata: {name: gloo-mesh}
                ---
                apiVersion: networking.gloo.solo.io/v2
                kind: RouteTable
                metadata: {name: web, namespace: gloo-mesh, labels: {app: web}}
                spec:
                  hosts: ['*']
                  http:
                  - name: sanity
                    matchers: [{uri: {prefix: /sanity}}]
                    directResponse: {status: 200, body: ok}
                  - name: main
                    matchers: [{uri: {prefix: /}}]
                    forwardTo:
                      destinations:
                      - {ref: {name: web-stable, namespace: default}, port: {number: 80}, kind: SERVICE, weight: 100}
                      - {ref: {name: web-canary, namespace: default}, port: {number: 80}, kind: SERVICE, weight: 0}
                """,
            routing: "plugins:\n  solo-io/glooplatform: {routeTableSelector: {labels: {app: web}, namespace: gloo-mesh}}",
            headerRoute: true, mirrorRoute: false, kind: "routetables.networking.gloo.solo.io", object: "web",
            userObject: "web",
            weight: { object in
                let main = object[at: "spec", "http"]?.arrayValue?.first { $0["name"]?.stringValue == "main" }
                let canary = main?[at: "forwardTo", "destinations"]?.arrayValue?.first {
                    $0[at: "ref", "name"]?.stringValue == "web-canary"
                }
                return canary?["weight"]?.integerValue.map { Int($0) }
            }, namespace: "gloo-mesh")
        try await run(router) { _, table in
            let http = table[at: "spec", "http"]?.arrayValue ?? []
            #expect(http.map { $0["name"]?.stringValue ?? "" } == ["header", "sanity", "main"])
            #expect(
                http.first
                    == Self.json(
                        """
                        name: header
                        matchers: [{uri: {prefix: /}, headers: [{name: X-Canary, value: "yes"}]}]
                        forwardTo:
                          destinations: [{ref: {name: web-canary, namespace: default}, port: {number: 80}, kind: SERVICE}]
                        """))
        }
    }

    @Test func aMissingIngressIsNamedOnTheRolloutAndTheRolloutGoesOnOnceItExists() async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        let router = Router(
            name: "nginx", crds: [], objects: "", routing: "nginx: {stableIngress: web}", headerRoute: false,
            mirrorRoute: false, kind: "ingress", object: "web-web-canary", userObject: "web", weight: { _ in nil })
        try cluster.kubectl(["apply", "-f", "-"], input: Self.services + Self.rollout(router, image: "web:v1"))
        let controller = try cluster.startController()
        func status() throws -> JSONValue { try cluster.object("rollout", "web")?["status"] ?? [:] }
        #expect(try await eventually(within: 120) { try status()["phase"]?.stringValue == "Healthy" })
        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v2"))
        var last: JSONValue = [:]
        let named = try await eventually(within: 120) {
            last = try status()
            return last["message"]?.stringValue == #"TrafficRoutingError: ingress.networking.k8s.io "web" not found"#
        }
        #expect(named, "status \(last)")
        let events = try cluster.list("events").filter { $0["reason"]?.stringValue == "TrafficRoutingError" }
        #expect(events.count == 1, "one event for the one failure, not one per retry: \(events)")
        #expect(controller.process.isRunning)
        try cluster.kubectl(
            ["apply", "-f", "-"],
            input: """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata: {name: web}
                spec:
                  rules:
                  - http:
                      paths:
                      - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {number: 80}}}}
                """)
        let resumed = try await eventually(within: 120) {
            last = try status()
            let canary = try cluster.object("ingress", "web-web-canary")
            return last["phase"]?.stringValue == "Paused"
                && canary?[at: "metadata", "annotations", "nginx.ingress.kubernetes.io/canary-weight"]?.stringValue == "10"
        }
        #expect(resumed, "status \(last)")
        let message = last["message"]?.stringValue ?? ""
        #expect(!message.contains("TrafficRoutingError"))
    }

    /// Argo's ping-pong with Istio: the VirtualService's destinations are the ping and pong
    /// Services, the canary's weight goes to whichever is not stable, and at promotion the two
    /// swap roles (`status.canary.stablePingPong`) while the old side keeps its selector.
    /// Argo's ALB beside Istio with ping-pong: Istio splits canaryService and stableService, ALB's
    /// action on the root Service splits ping and pong, both at the step's weight; the promotion
    /// leaves pong stable on the ALB side.
    @Test func albBesideIstioSplitsPingAndPong() async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        try cluster.kubectl(
            ["create", "-f", "-"],
            input: Self.crd(
                group: "networking.istio.io", version: "v1alpha3", kind: "VirtualService", plural: "virtualservices"))
        let pingPong = Self.services.replacingOccurrences(of: "web-stable", with: "web-ping")
            .replacingOccurrences(of: "web-canary", with: "web-pong")
        try cluster.kubectl(
            ["apply", "-f", "-"],
            input: Self.services + pingPong
                + Self.albIngress.replacingOccurrences(of: "web-stable", with: "web-root") + "\n---\n"
                + Self.virtualService(stable: "web-stable", canary: "web-canary"))
        let router = Router(
            name: "alb beside istio", crds: [], objects: "",
            routing:
                "alb: {ingress: web, servicePort: 80, rootService: web-root}\nistio: {virtualService: {name: web}}",
            headerRoute: false, mirrorRoute: false, kind: "ingress", object: "web", userObject: "web",
            weight: { _ in nil })
        func rollout(_ image: String) -> String {
            Self.rollout(router, image: image).replacingOccurrences(
                of: "stableService: web-stable",
                with: "stableService: web-stable\n      pingPong: {pingService: web-ping, pongService: web-pong}")
        }
        func istio() throws -> [String: Int] { try Self.istioWeights(cluster) }
        func alb() throws -> [String: Int] {
            Self.albWeights(try cluster.object("ingress", "web") ?? [:], action: "alb.ingress.kubernetes.io/actions.web-root")
        }
        try cluster.kubectl(["apply", "-f", "-"], input: rollout("web:v1"))
        let controller = try cluster.startController()
        var last: JSONValue = [:]
        func wait(_ what: String, _ condition: (JSONValue) throws -> Bool) async throws {
            let held = try await eventually(within: 120) {
                last = try cluster.object("rollout", "web")?["status"] ?? [:]
                return try condition(last)
            }
            let log = (try? String(contentsOfFile: controller.log, encoding: .utf8)) ?? ""
            try #require(
                held,
                "\(what): status \(last)\nistio \((try? istio()) ?? [:]) alb \((try? alb()) ?? [:])\nlog \(log.suffix(3000))")
        }
        try await wait("v1 goes Healthy") { $0["phase"]?.stringValue == "Healthy" }
        try cluster.kubectl(["apply", "-f", "-"], input: rollout("web:v2"))
        try await wait("v2 pauses at 10% through both routers") { status in
            try status["phase"]?.stringValue == "Paused" && istio() == ["web-stable": 90, "web-canary": 10]
                && alb() == ["web-ping": 90, "web-pong": 10]
        }
        try cluster.kubectl(["patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"promoteFull":true}}"#])
        try await wait("the promotion leaves pong stable behind the ALB and Istio back on web-stable") { status in
            try status["phase"]?.stringValue == "Healthy" && status["stableRS"] == status["currentPodHash"]
                && status[at: "canary", "stablePingPong"]?.stringValue == "pong"
                && istio() == ["web-stable": 100, "web-canary": 0] && alb() == ["web-pong": 100, "web-ping": 0]
        }
    }

    @Test func pingPongThroughAnIstioVirtualService() async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        try cluster.kubectl(
            ["create", "-f", "-"],
            input: Self.crd(group: "networking.istio.io", version: "v1alpha3", kind: "VirtualService", plural: "virtualservices"))
        let services = Self.services.replacingOccurrences(of: "web-stable", with: "web-ping")
            .replacingOccurrences(of: "web-canary", with: "web-pong")
        try cluster.kubectl(
            ["apply", "-f", "-"],
            input: services + Self.virtualService(stable: "web-ping", canary: "web-pong"))
        // The seed-shaped canary of the other routers, with ping and pong in place of canary and stable.
        let router = Router(
            name: "istio ping-pong", crds: [], objects: "", routing: "istio: {virtualService: {name: web}}",
            headerRoute: false, mirrorRoute: false, kind: "virtualservices.networking.istio.io", object: "web",
            userObject: "web", weight: { _ in nil })
        func rollout(_ image: String) -> String {
            Self.rollout(router, image: image).replacingOccurrences(
                of: "canaryService: web-canary\n      stableService: web-stable",
                with: "pingPong: {pingService: web-ping, pongService: web-pong}")
        }
        try cluster.kubectl(["apply", "-f", "-"], input: rollout("web:v1"))
        let controller = try cluster.startController()
        func status() throws -> JSONValue { try cluster.object("rollout", "web")?["status"] ?? [:] }
        func selector(_ service: String) throws -> String? {
            try cluster.object("service", service)?[at: "spec", "selector", "rollouts-pod-template-hash"]?.stringValue
        }
        func weights() throws -> [String: Int] { try Self.istioWeights(cluster) }
        var last: JSONValue = [:]
        func wait(_ what: String, _ condition: (JSONValue) throws -> Bool) async throws {
            let held = try await eventually(within: 120) {
                last = try status()
                return try condition(last)
            }
            let log = (try? String(contentsOfFile: controller.log, encoding: .utf8)) ?? ""
            let routed = (try? weights()) ?? [:]
            try #require(held, "\(what): status \(last)\nweights \(routed)\nlog \(log.suffix(3000))")
        }
        try await wait("v1 goes Healthy behind ping") { status in
            try status["phase"]?.stringValue == "Healthy" && selector("web-ping") == status["stableRS"]?.stringValue
        }
        let v1 = try #require(last["stableRS"]?.stringValue)

        try cluster.kubectl(["apply", "-f", "-"], input: rollout("web:v2"))
        try await wait("v2 pauses behind pong with 10%") { status in
            try status["phase"]?.stringValue == "Paused" && weights() == ["web-ping": 90, "web-pong": 10]
        }
        let v2 = try #require(last["currentPodHash"]?.stringValue)
        #expect(try selector("web-pong") == v2)
        #expect(try selector("web-ping") == v1)
        #expect(last[at: "canary", "weights", "canary", "serviceName"]?.stringValue == "web-pong")

        try cluster.kubectl(["patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"promoteFull":true}}"#])
        try await wait("the promotion makes pong the stable side without moving a selector") { status in
            try status["phase"]?.stringValue == "Healthy" && status["stableRS"]?.stringValue == v2
                && weights() == ["web-ping": 0, "web-pong": 100]
        }
        #expect(last[at: "canary", "stablePingPong"]?.stringValue == "pong")
        #expect(try selector("web-ping") == v1)
        #expect(try selector("web-pong") == v2)
    }
}
