import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// The seed's canary with `trafficRouting.smi` swapped for each router Aviary drives: it lints
/// clean and plans the same weights; what a router cannot do is an error naming the field.
@Suite struct TrafficRouterLintTests {
    static let smiStanza = """
              smi:
                rootService: sample-app
        """

    static let routers: [(String, String)] = [
        ("nginx", "      nginx:\n        stableIngress: sample-app"),
        ("nginx stableIngresses", "      nginx:\n        stableIngresses: [sample-app, sample-app-internal]"),
        ("istio", "      istio:\n        virtualService: {name: sample-app, routes: [primary]}"),
        ("istio virtualServices", "      istio:\n        virtualServices: [{name: a}, {name: b.other, tlsRoutes: [{port: 443, sniHosts: [x]}]}]"),
        (
            "istio destinationRule",
            "      istio:\n        virtualService: {name: sample-app}\n        destinationRule: {name: sample-app, canarySubsetName: canary, stableSubsetName: stable}"
        ),
        ("traefik", "      traefik:\n        weightedTraefikServiceName: sample-app"),
        ("alb", "      alb:\n        ingress: sample-app\n        servicePort: 80"),
        (
            "alb ingresses, root service and stickiness",
            "      alb:\n        ingresses: [sample-app, sample-app-internal]\n        servicePort: 443\n        rootService: sample-app\n        annotationPrefix: custom.alb.example\n        stickinessConfig: {enabled: true, durationSeconds: 3600}"
        ),
        ("ambassador", "      ambassador:\n        mappings: [sample-app, sample-app-grpc]"),
        ("apisix", "      apisix:\n        route: {name: sample-app, rules: [primary, secondary]}"),
        (
            "appMesh",
            "      appMesh:\n        virtualService: {name: sample-app, routes: [primary]}\n        virtualNodeGroup:\n          canaryVirtualNodeRef: {name: sample-app-canary}\n          stableVirtualNodeRef: {name: sample-app-stable}"
        ),
        ("contour", "      plugins:\n        argoproj-labs/contour:\n          httpProxies: [sample-app, sample-app-internal]"),
        ("openshift", "      plugins:\n        argoproj-labs/openshift:\n          routes: [sample-app, edge/sample-app]"),
        (
            "glooedge virtualService",
            "      plugins:\n        solo-io/glooedge:\n          virtualService: {name: echo, namespace: gloo-system}\n          routes: [route-1, route-2]"
        ),
        ("glooedge routeTable labels", "      plugins:\n        solo-io/glooedge:\n          routeTable: {labels: {team: web}}"),
        (
            "glooplatform labels and route selector",
            "      plugins:\n        solo-io/glooplatform:\n          routeTableSelector: {labels: {app: demo}, namespace: gloo-mesh}\n          routeSelector: {labels: {route: demo}}"
        ),
        ("glooplatform by name", "      plugins:\n        solo-io/glooplatform:\n          routeTableSelector: {name: default}"),
        ("gatewayAPI", "      plugins:\n        argoproj-labs/gatewayAPI:\n          httpRoute: sample-app"),
        (
            "gatewayAPI httpRoutes",
            "      plugins:\n        argoproj-labs/gatewayAPI:\n          httpRoutes: [{name: a, useHeaderRoutes: true}, {name: b}]\n          namespace: gateways"
        ),
    ]

    static func seed(routing: String) throws -> [LintInput] {
        let examples = LintTests.examples
        var canary = try String(contentsOf: examples.appendingPathComponent("canary.yaml"), encoding: .utf8)
        let stanza = "        smi:\n          rootService: sample-app"
        try #require(canary.contains(stanza))
        canary = canary.replacingOccurrences(of: stanza, with: routing.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        let template = try Data(contentsOf: examples.appendingPathComponent("success-rate.yaml"))
        return [LintInput(file: "canary.yaml", data: Data(canary.utf8)), LintInput(file: "success-rate.yaml", data: template)]
    }

    static func plan(_ inputs: [LintInput]) throws -> [RolloutPlanRow] {
        let resources = ManifestDecoder().decode(inputs[0].data, file: inputs[0].file).resources
        guard case .rollout(let rollout) = resources.first else { throw CancellationError() }
        return RolloutPlan.make(for: rollout)
    }

    @Test(arguments: routers.map(\.0)) func theSeedThroughEachRouterLintsCleanAndPlansLikeSMI(_ name: String) throws {
        let routing = try #require(Self.routers.first { $0.0 == name }?.1)
        let inputs = try Self.seed(routing: routing)
        let report = ManifestLinter.lint(inputs)
        #expect(report.diagnostics.map(\.description) == [])
        let smi = try Self.plan(try Self.seed(routing: "      smi:\n        rootService: sample-app"))
        let routed = try Self.plan(inputs)
        #expect(routed.map(\.canaryWeight) == smi.map(\.canaryWeight))
        #expect(routed.map(\.canaryReplicas) == smi.map(\.canaryReplicas))
        #expect(routed.map(\.canaryWeight) == [10, 10, 33, 33, 100])
    }

    /// Consul's subsets are told apart by the template's service meta annotation: without it, a
    /// warning (Argo accepts it, and its filters compare with nothing).
    @Test func consulWantsTheVersionAnnotation() {
        func warnings(_ annotations: String) -> [String] {
            let text = Self.rollout.replacingOccurrences(
                of: "metadata: {labels: {app: web}}", with: "metadata: {labels: {app: web}\(annotations)}"
            )
            .replacingOccurrences(
                of: "ROUTING",
                with: "        plugins: {hashicorp/consul: {serviceName: web, canarySubsetName: c, stableSubsetName: s}}"
            )
            .replacingOccurrences(of: "STEPS", with: "")
            let report = ManifestLinter.lint([LintInput(file: "r.yaml", data: Data(text.utf8))])
            #expect(report.diagnostics.filter(\.isError).isEmpty, "\(report.diagnostics)")
            return report.diagnostics.filter { $0.path.hasPrefix("spec.template") }.map { "\($0.path): \($0.message)" }
        }
        #expect(
            warnings("")
                == [
                    #"spec.template.metadata.annotations["consul.hashicorp.com/service-meta-version"]: not set, so the Consul plugin's canary subset filter compares Service.Meta.version with nothing and selects no pod; give each version its own value, e.g. "2""#
                ])
        #expect(warnings(", annotations: {consul.hashicorp.com/service-meta-version: \"2\"}") == [])
    }

    static let rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: web:v1}]}
          strategy:
            canary:
              canaryService: web-canary
              stableService: web-stable
              trafficRouting:
                managedRoutes: [{name: h}, {name: m}]
        ROUTING
              steps:
              - setWeight: 10
        STEPS
        """

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var routing: String
        var steps: String = ""
        var errors: [String]
        /// Warnings the row must give (nil: not looked at).
        var warnings: [String]? = nil
        var testDescription: String { name }
    }

    static let header = #"      - setHeaderRoute: {name: h, match: [{headerName: a, headerValue: {exact: "1"}}, {headerName: b, headerValue: {exact: "2"}}]}"#
    static let mirror = "      - setMirrorRoute: {name: m, match: [{method: {exact: GET}}]}"

    static let errorRows: [Row] = [
        Row(
            name: "nginx without an Ingress", routing: "        nginx: {}",
            errors: [
                "spec.strategy.canary.trafficRouting.nginx.stableIngress: required; name the Ingress that routes to the stable Service (or list stableIngresses)"
            ]),
        Row(
            name: "nginx cannot mirror, and matches one header", routing: "        nginx: {stableIngress: web}",
            steps: header + "\n" + mirror,
            errors: [
                "spec.strategy.canary.steps[1].setHeaderRoute.match: NGINX Ingress matches one header (canary-by-header); give one match, found 2",
                "spec.strategy.canary.steps[2].setMirrorRoute: NGINX Ingress cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "traefik routes by weight only", routing: "        traefik: {weightedTraefikServiceName: web}",
            steps: mirror,
            errors: [
                "spec.strategy.canary.steps[1].setMirrorRoute: Traefik cannot mirror traffic; remove the step or use istio or the Gateway API"
            ]),
        Row(
            name: "istio with both forms", routing: "        istio: {virtualService: {name: a}, virtualServices: [{name: b}]}",
            errors: [
                "spec.strategy.canary.trafficRouting.istio.virtualServices: cannot be used together with virtualService; list them all here"
            ]),
        Row(
            name: "appMesh without its objects, and by weight only", routing: "        appMesh: {virtualNodeGroup: {}}",
            steps: header + "\n" + mirror,
            errors: [
                "spec.strategy.canary.trafficRouting.appMesh.virtualService.name: required; name the VirtualService whose VirtualRouter carries the split",
                "spec.strategy.canary.trafficRouting.appMesh.virtualNodeGroup.canaryVirtualNodeRef.name: required; name the VirtualNode of that side's pods",
                "spec.strategy.canary.trafficRouting.appMesh.virtualNodeGroup.stableVirtualNodeRef.name: required; name the VirtualNode of that side's pods",
                "spec.strategy.canary.steps[1].setHeaderRoute: App Mesh cannot route by header; remove the step or use istio, nginx or the Gateway API",
                "spec.strategy.canary.steps[2].setMirrorRoute: App Mesh cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "ambassador without mappings, and by weight only", routing: "        ambassador: {}",
            steps: header + "\n" + mirror,
            errors: [
                "spec.strategy.canary.trafficRouting.ambassador.mappings: required; name the Mappings that route to the stable Service",
                "spec.strategy.canary.steps[1].setHeaderRoute: Ambassador cannot route by header; remove the step or use istio, nginx or the Gateway API",
                "spec.strategy.canary.steps[2].setMirrorRoute: Ambassador cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "alb without an Ingress or a port", routing: "        alb: {}",
            errors: [
                "spec.strategy.canary.trafficRouting.alb.ingress: required; name the Ingress whose rule routes to the root Service (or list ingresses)",
                "spec.strategy.canary.trafficRouting.alb.servicePort: required; give the port of the Services the ALB forwards to, as the Ingress names it",
            ]),
        Row(
            name: "alb with both forms, a bad port and a stickiness out of AWS's range",
            routing:
                "        alb: {ingress: a, ingresses: [b], servicePort: 70000, stickinessConfig: {enabled: true, durationSeconds: 0}}",
            errors: [
                "spec.strategy.canary.trafficRouting.alb.ingresses: cannot be used together with ingress; list them all here",
                "spec.strategy.canary.trafficRouting.alb.servicePort: must be a port between 1 and 65535, got 70000",
                "spec.strategy.canary.trafficRouting.alb.stickinessConfig.durationSeconds: must be between 1 and 604800 seconds (7 days, AWS's range), got 0",
            ]),
        Row(
            name: "alb matches exact header values and cannot mirror",
            routing: "        alb: {ingress: web, servicePort: 80}",
            steps:
                #"      - setHeaderRoute: {name: h, match: [{headerName: a, headerValue: {exact: "1"}}, {headerName: b, headerValue: {prefix: "2"}}]}"#
                + "\n" + mirror,
            errors: [
                "spec.strategy.canary.steps[1].setHeaderRoute.match[1].headerValue: ALB matches a header by its exact value only (Argo's rule); use exact: VALUE",
                "spec.strategy.canary.steps[2].setMirrorRoute: ALB cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "apisix without a route, and no mirror", routing: "        apisix: {route: {rules: [\"\"]}}",
            steps: mirror,
            errors: [
                "spec.strategy.canary.trafficRouting.apisix.route.name: required; name the ApisixRoute whose rules carry the split",
                "spec.strategy.canary.trafficRouting.apisix.route.rules[0]: must name an HTTP rule of the ApisixRoute (spec.http[].name)",
                "spec.strategy.canary.steps[1].setMirrorRoute: APISIX cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "contour routes by weight only, and its configuration must decode",
            routing: "        plugins: {argoproj-labs/contour: {httpProxies: web}}", steps: header,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/contour"]: is not a Contour plugin configuration; give httpProxies: [NAME]"#
            ]),
        Row(
            name: "contour without proxies cannot route by header",
            routing: "        plugins: {argoproj-labs/contour: {httpProxies: []}}", steps: header,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/contour"].httpProxies: required; name the HTTPProxies whose routes carry the canary and stable Services"#,
                "spec.strategy.canary.steps[1].setHeaderRoute: Contour cannot route by header; remove the step or use istio, nginx or the Gateway API",
            ]),
        Row(
            name: "openshift routes by weight only, and its configuration must decode",
            routing: "        plugins: {argoproj-labs/openshift: {routes: web}}", steps: mirror,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/openshift"]: is not an OpenShift plugin configuration; give routes: [NAME]"#
            ]),
        Row(
            name: "openshift without routes cannot route by header; the README's namespace is ignored",
            routing: "        plugins: {argoproj-labs/openshift: {routes: [], namespace: shop}}", steps: header,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/openshift"].routes: required; name the Routes whose default backend is the stable Service (NAME or NAMESPACE/NAME)"#,
                "spec.strategy.canary.steps[1].setHeaderRoute: OpenShift cannot route by header; remove the step or use istio, nginx or the Gateway API",
            ],
            warnings: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/openshift"].namespace: unknown field, ignored by the plugin; it reads routes only (a Route of another namespace is NAMESPACE/NAME)"#
            ]),
        Row(
            name: "glooedge needs one selector and routes by weight only",
            routing: "        plugins: {solo-io/glooedge: {routes: [a]}}", steps: mirror,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooedge"]: one of virtualService or routeTable selectors must be set in solo-io/glooedge plugin configuration; give one"#,
                "spec.strategy.canary.steps[1].setMirrorRoute: Gloo Edge cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "glooedge selectors need a name (or labels)",
            routing: "        plugins: {solo-io/glooedge: {virtualService: {namespace: gloo-system}}}",
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooedge"].virtualService.name: required; give the VirtualService's name"#
            ]),
        Row(
            name: "glooedge route tables need a name or labels",
            routing: "        plugins: {solo-io/glooedge: {routeTable: {namespace: gloo-system}}}",
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooedge"].routeTable: name or labels field must be set in RouteTable selector; give name: NAME or labels: {KEY: VALUE}"#
            ]),
        Row(
            name: "glooedge configuration must decode",
            routing: "        plugins: {solo-io/glooedge: {routes: route-1}}",
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooedge"]: is not a Gloo Edge plugin configuration; give virtualService: {name: NAME} or routeTable: {name: NAME} (or labels), and optionally routes: [NAME]"#
            ]),
        Row(
            name: "glooplatform needs a route table selector and routes by weight and header only",
            routing: "        plugins: {solo-io/glooplatform: {routeSelector: {name: demo}}}", steps: mirror,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooplatform"].routeTableSelector: routeTable selector is required; give routeTableSelector: {name: NAME} or {labels: {KEY: VALUE}}"#,
                "spec.strategy.canary.steps[1].setMirrorRoute: Gloo Platform cannot mirror traffic; remove the step or use istio or the Gateway API",
            ]),
        Row(
            name: "glooplatform configuration must decode",
            routing: "        plugins: {solo-io/glooplatform: {routeTableSelector: default}}",
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["solo-io/glooplatform"]: is not a Gloo Platform plugin configuration; give routeTableSelector: {name: NAME} (or labels: {KEY: VALUE}, and optionally namespace), and optionally routeSelector: {name: NAME} or {labels: {KEY: VALUE}}"#
            ]),
        Row(
            name: "consul needs its three names and routes by weight only",
            routing: "        plugins: {hashicorp/consul: {serviceName: web}}", steps: header,
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["hashicorp/consul"]: invalid consul traffic routing configuration. stableSubsetName, canarySubsetName, and serviceName must be set; set all three"#,
                "spec.strategy.canary.steps[1].setHeaderRoute: Consul cannot route by header; remove the step or use istio, nginx or the Gateway API",
            ]),
        Row(
            name: "a plugin binary, with header and mirror routes, is valid",
            routing: "        plugins: {acme/router: {x: 1}}", steps: header + "\n" + mirror, errors: [], warnings: []),
        Row(
            name: "a plugin binary beside a plugin Aviary runs: both driven, the header route by the binary",
            routing: "        plugins: {acme/router: {x: 1}, argoproj-labs/contour: {httpProxies: [web]}}",
            steps: header, errors: [], warnings: []),
        Row(
            name: "two plugin binaries are both driven",
            routing: "        plugins: {zeta/router: {}, acme/router: {}}", errors: [], warnings: []),
        Row(
            name: "a header route that one of two routers carries is valid",
            routing: "        traefik: {weightedTraefikServiceName: web}\n        alb: {ingress: web, servicePort: 80}",
            steps: header, errors: [], warnings: []),
        Row(
            name: "a mirror route that neither of two routers carries is refused, naming both",
            routing: "        traefik: {weightedTraefikServiceName: web}\n        alb: {ingress: web, servicePort: 80}",
            steps: mirror,
            errors: [
                "spec.strategy.canary.steps[1].setMirrorRoute: none of the routers named (ALB, Traefik) can mirror traffic; remove the step or use istio or the Gateway API"
            ]),
        Row(
            name: "a router named beside another has its configuration checked",
            routing: "        istio: {virtualService: {name: web}}\n        nginx: {}", errors: [
                "spec.strategy.canary.trafficRouting.nginx.stableIngress: required; name the Ingress that routes to the stable Service (or list stableIngresses)"
            ]),
        Row(
            name: "a Gateway API plugin configuration that does not decode",
            routing: "        plugins: {argoproj-labs/gatewayAPI: {httpRoutes: web}}",
            errors: [
                #"spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]: is not a Gateway API plugin configuration; give httpRoute: NAME or httpRoutes: [{name: NAME}] (and optionally namespace)"#
            ]),
    ]

    @Test(arguments: errorRows) func whatARouterCannotDoIsAnErrorNamingTheField(_ row: Row) throws {
        let text = Self.rollout.replacingOccurrences(of: "ROUTING", with: row.routing)
            .replacingOccurrences(of: "STEPS", with: row.steps)
        let report = ManifestLinter.lint([LintInput(file: "r.yaml", data: Data(text.utf8))])
        let errors = report.diagnostics.filter(\.isError).map { "\($0.path): \($0.message)" }
        #expect(errors == row.errors)
        if let warnings = row.warnings {
            #expect(
                report.diagnostics.filter { !$0.isError && $0.path.contains("plugins") }.map {
                    "\($0.path): \($0.message)"
                } == warnings)
        }
    }

    /// Argo's ALB ping-pong: the two Services take turns, so the Ingress's rule names a third,
    /// `rootService`, which carries the action; without it the rollout is refused.
    @Test func albPingPongNeedsTheRootService() throws {
        func pingPong(_ alb: String) -> Data {
            let text = Self.rollout
                .replacingOccurrences(
                    of: "      canaryService: web-canary\n      stableService: web-stable",
                    with: "      pingPong: {pingService: web-ping, pongService: web-pong}")
                .replacingOccurrences(of: "        managedRoutes: [{name: h}, {name: m}]\nROUTING", with: "        alb: \(alb)")
                .replacingOccurrences(of: "STEPS", with: "")
            return Data(text.utf8)
        }
        func errors(_ alb: String) -> [String] {
            let report = ManifestLinter.lint([LintInput(file: "r.yaml", data: pingPong(alb))])
            return report.diagnostics.filter(\.isError).map { "\($0.path): \($0.message)" }
        }
        #expect(
            errors("{ingress: web, servicePort: 80}") == [
                "spec.strategy.canary.trafficRouting.alb.rootService: required; with ping-pong the two Services take turns, so name the Service the Ingress's rule routes to"
            ])
        #expect(errors("{ingress: web, servicePort: 80, rootService: web}") == [])
        let decoded = ManifestDecoder().decode(pingPong("{ingress: web, servicePort: 80, rootService: web}"), file: "r.yaml")
        guard case .rollout(let rollout) = decoded.resources.first else {
            Issue.record("no rollout decoded: \(decoded)")
            return
        }
        #expect(rollout.spec.strategy.canary?.trafficRootService == "web")
        // After a promotion to pong, ALB's action splits toward ping: ALB alone splits the two Services.
        let sides = rollout.spec.strategy.canary?.splitServices(stablePingPong: "pong")
        #expect(sides?.canary == "web-ping" && sides?.stable == "web-pong")
    }
}
