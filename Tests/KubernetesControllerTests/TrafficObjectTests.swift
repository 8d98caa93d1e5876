import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform
import Foundation
import Testing
import Yams

@testable import AviaryKubernetesPlatform

import struct AviaryRoutes.StringMatch

/// The objects each traffic router gets, one row per field of the router's configuration: what
/// Argo's controller (and its Gateway API plugin) writes, field by field.
@Suite struct TrafficObjectTests {
    static func json(_ yaml: String) -> JSONValue {
        let any = try! Yams.load(yaml: yaml) ?? [:]
        return try! JSONValue(parsing: JSONSerialization.data(withJSONObject: any, options: [.sortedKeys]))
    }

    static func split(
        weight: Int = 10, headers: [SetHeaderRoute] = [], mirrors: [SetMirrorRoute] = [], maxWeight: Int? = nil,
        managed: [String]? = nil
    ) -> TrafficSplit {
        var split = TrafficSplit(
            namespace: "default", rootService: "web-stable", canaryService: "web-canary", stableService: "web-stable",
            canaryWeight: weight, headerRoutes: headers, mirrorRoutes: mirrors, rollout: "web")
        split.maxWeight = maxWeight
        split.managedRoutes = managed
        split.canaryHash = "c4n4ry"
        split.stableHash = "st4b1e"
        return split
    }

    static let header = SetHeaderRoute(
        name: "header", match: [HeaderRoutingMatch(headerName: "X-Canary", headerValue: StringMatch(exact: "yes"))])
    static let mirror = SetMirrorRoute(name: "mirror", match: [RouteMatch(method: StringMatch(exact: "GET"))], percentage: 50)

    // MARK: NGINX

    static let stableIngress = json(
        """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: default
          labels: {team: shop}
          annotations: {kubernetes.io/ingress.class: nginx, nginx.ingress.kubernetes.io/rewrite-target: /}
        spec:
          ingressClassName: nginx
          tls: [{hosts: [web.example.com], secretName: web-tls}]
          defaultBackend: {service: {name: web-stable, port: {number: 80}}}
          rules:
          - host: web.example.com
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web-stable, port: {number: 80}}}}
              - {path: /static, pathType: Prefix, backend: {service: {name: assets, port: {number: 80}}}}
          - host: admin.example.com
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: admin, port: {number: 80}}}}
        """)
    static let owner = json("{apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web, uid: u1, controller: true, blockOwnerDeletion: true}")

    struct NginxRow: CustomTestStringConvertible, Sendable {
        var field: String
        var config: NginxTrafficRouting
        var split: TrafficSplit
        var annotations: [String: String]
        var testDescription: String { field }
    }

    static let nginxRows: [NginxRow] = {
        let base = ["kubernetes.io/ingress.class": "nginx", "nginx.ingress.kubernetes.io/canary": "true"]
        func with(_ extra: [String: String]) -> [String: String] { base.merging(extra) { $1 } }
        var additional = NginxTrafficRouting(stableIngress: "web")
        additional.additionalIngressAnnotations = ["canary-by-cookie": "beta", "nginx.ingress.kubernetes.io/x": "1"]
        var canaryOnly = NginxTrafficRouting(stableIngress: "web")
        canaryOnly.canaryIngressAnnotations = ["example.com/owner": "shop"]
        var prefixed = NginxTrafficRouting(stableIngress: "web")
        prefixed.annotationPrefix = "custom.nginx.org"
        return [
            NginxRow(
                field: "stableIngress", config: NginxTrafficRouting(stableIngress: "web"), split: split(),
                annotations: with(["nginx.ingress.kubernetes.io/canary-weight": "10"])),
            NginxRow(
                field: "maxTrafficWeight", config: NginxTrafficRouting(stableIngress: "web"),
                split: split(weight: 100, maxWeight: 1000),
                annotations: with([
                    "nginx.ingress.kubernetes.io/canary-weight": "100",
                    "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
                ])),
            NginxRow(
                field: "additionalIngressAnnotations", config: additional, split: split(),
                annotations: with([
                    "nginx.ingress.kubernetes.io/canary-weight": "10",
                    "nginx.ingress.kubernetes.io/canary-by-cookie": "beta", "nginx.ingress.kubernetes.io/x": "1",
                ])),
            NginxRow(
                field: "canaryIngressAnnotations", config: canaryOnly, split: split(),
                annotations: with(["nginx.ingress.kubernetes.io/canary-weight": "10", "example.com/owner": "shop"])),
            NginxRow(
                field: "annotationPrefix", config: prefixed, split: split(),
                annotations: [
                    "kubernetes.io/ingress.class": "nginx", "custom.nginx.org/canary": "true",
                    "custom.nginx.org/canary-weight": "10",
                ]),
            NginxRow(
                field: "setHeaderRoute exact", config: NginxTrafficRouting(stableIngress: "web"),
                split: split(headers: [header]),
                annotations: with([
                    "nginx.ingress.kubernetes.io/canary-weight": "10",
                    "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
                    "nginx.ingress.kubernetes.io/canary-by-header-value": "yes",
                ])),
            NginxRow(
                field: "setHeaderRoute prefix", config: NginxTrafficRouting(stableIngress: "web"),
                split: split(headers: [
                    SetHeaderRoute(
                        name: "h", match: [HeaderRoutingMatch(headerName: "X-Ver", headerValue: StringMatch(prefix: "v2."))])
                ]),
                annotations: with([
                    "nginx.ingress.kubernetes.io/canary-weight": "10",
                    "nginx.ingress.kubernetes.io/canary-by-header": "X-Ver",
                    "nginx.ingress.kubernetes.io/canary-by-header-pattern": #"^v2\..*"#,
                ])),
        ]
    }()

    @Test(arguments: nginxRows) func nginxCanaryIngress(_ row: NginxRow) throws {
        let canary = try NginxCanaryIngress.desired(stable: Self.stableIngress, split: row.split, config: row.config, owner: Self.owner)
        #expect(stringMap(canary[path: "metadata", "annotations"]) == row.annotations)
        #expect(canary[path: "metadata", "name"] == "web-web-canary")
        #expect(canary[path: "metadata", "labels"] == nil)
        #expect(canary[path: "metadata", "ownerReferences"] == [Self.owner])
        // Only the rule that reaches the stable Service, pointed at the canary; TLS and class kept.
        let expectedSpec = Self.json(
            """
            ingressClassName: nginx
            tls: [{hosts: [web.example.com], secretName: web-tls}]
            rules:
            - host: web.example.com
              http:
                paths:
                - {path: /, pathType: Prefix, backend: {service: {name: web-canary, port: {number: 80}}}}
                - {path: /static, pathType: Prefix, backend: {service: {name: assets, port: {number: 80}}}}
            """)
        #expect(canary["spec"] == expectedSpec)
    }

    @Test func nginxRefusesAnIngressWithoutTheStableServiceAndACanaryIngressItDoesNotOwn() throws {
        var other = Self.stableIngress
        other[path: "spec", "rules"] = Self.json("[{http: {paths: [{path: /, backend: {service: {name: admin}}}]}}]")
        #expect(throws: TrafficObjectError("ingress `web` has no rules using service web-stable backend")) {
            try NginxCanaryIngress.desired(
                stable: other, split: Self.split(), config: NginxTrafficRouting(stableIngress: "web"), owner: Self.owner)
        }
        let desired = try NginxCanaryIngress.desired(
            stable: Self.stableIngress, split: Self.split(), config: NginxTrafficRouting(stableIngress: "web"), owner: Self.owner)
        var foreign = desired
        foreign[path: "metadata", "ownerReferences"] = [["uid": "someone-else", "controller": true]]
        #expect(throws: TrafficObjectError("canary ingress `web-web-canary` controlled by different object")) {
            try NginxCanaryIngress.updated(existing: foreign, desired: desired, rolloutUID: "u1", prefix: "nginx.ingress.kubernetes.io")
        }
        // An update keeps others' annotations and drops a header canary no longer active.
        var existing = try NginxCanaryIngress.desired(
            stable: Self.stableIngress, split: Self.split(headers: [Self.header]), config: NginxTrafficRouting(stableIngress: "web"),
            owner: Self.owner)
        existing[path: "metadata", "annotations", "example.com/seen-by"] = "audit"
        let updated = try #require(
            try NginxCanaryIngress.updated(existing: existing, desired: desired, rolloutUID: "u1", prefix: "nginx.ingress.kubernetes.io"))
        let annotations = stringMap(updated[path: "metadata", "annotations"])
        #expect(annotations["example.com/seen-by"] == "audit")
        #expect(annotations["nginx.ingress.kubernetes.io/canary-by-header"] == nil)
        #expect(try NginxCanaryIngress.updated(existing: updated, desired: desired, rolloutUID: "u1", prefix: "nginx.ingress.kubernetes.io") == nil)
        // Argo's name: ROLLOUT-INGRESS, cut so that with -canary it fits 253 characters.
        let long = String(repeating: "a", count: 250)
        #expect(NginxCanaryIngress.name(rollout: "web", stableIngress: long).count == 253)
        #expect(NginxCanaryIngress.name(rollout: "web", stableIngress: long).hasSuffix("aaa-canary"))
    }

    // MARK: Istio

    static let virtualService = json(
        """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata: {name: web, namespace: default}
        spec:
          hosts: [web.example.com]
          http:
          - name: primary
            route:
            - destination: {host: web-stable.default.svc.cluster.local, port: {number: 80}}
              weight: 100
            - destination: {host: web-canary, port: {number: 80}}
              weight: 0
          - name: other
            route: [{destination: {host: admin}}]
          tls:
          - match: [{port: 443, sniHosts: [web.example.com]}]
            route:
            - {destination: {host: web-stable}, weight: 100}
            - {destination: {host: web-canary}, weight: 0}
          tcp:
          - match: [{port: 5432}]
            route:
            - {destination: {host: web-stable}, weight: 100}
            - {destination: {host: web-canary}, weight: 0}
        """)

    struct IstioRow: CustomTestStringConvertible, Sendable {
        var field: String
        var config: IstioVirtualService
        var split: TrafficSplit
        var check: @Sendable (JSONValue) -> Bool
        var testDescription: String { field }
    }

    static func weights(_ route: JSONValue?) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for destination in route?["route"]?.elements ?? [] {
            let target = destination["destination"] ?? [:]
            result[target["subset"]?.stringValue ?? target["host"]?.stringValue ?? ""] = destination["weight"]?.integerValue ?? -1
        }
        return result
    }

    static let istioRows: [IstioRow] = [
        IstioRow(field: "virtualService.routes", config: IstioVirtualService(name: "web", routes: ["primary"]), split: split()) {
            weights($0[path: "spec", "http"]?.elements.first)
                == ["web-stable.default.svc.cluster.local": 90, "web-canary": 10]
                && $0[path: "spec", "http"]?.elements[1] == virtualService[path: "spec", "http"]?.elements[1]
        },
        IstioRow(
            field: "virtualService.tlsRoutes",
            config: IstioVirtualService(name: "web", routes: ["primary"], tlsRoutes: [IstioTLSRoute(port: 443, sniHosts: ["web.example.com"])]),
            split: split(weight: 33)
        ) { weights($0[path: "spec", "tls"]?.elements.first) == ["web-stable": 67, "web-canary": 33] },
        IstioRow(
            field: "virtualService.tcpRoutes",
            config: IstioVirtualService(name: "web", routes: ["primary"], tcpRoutes: [IstioTCPRoute(port: 5432)]),
            split: split(weight: 33)
        ) { weights($0[path: "spec", "tcp"]?.elements.first) == ["web-stable": 67, "web-canary": 33] },
        IstioRow(
            field: "setHeaderRoute", config: IstioVirtualService(name: "web", routes: ["primary"]),
            split: split(headers: [header], managed: ["header"])
        ) {
            $0[path: "spec", "http"]?.elements.first
                == json(
                    """
                    name: header
                    match: [{headers: {X-Canary: {exact: "yes"}}}]
                    route: [{destination: {host: web-canary, port: {number: 80}}, weight: 100}]
                    """)
        },
        IstioRow(
            field: "setMirrorRoute", config: IstioVirtualService(name: "web", routes: ["primary"]),
            split: split(mirrors: [mirror], managed: ["mirror"])
        ) {
            let route = $0[path: "spec", "http"]?.elements.first
            return route?["name"] == "mirror" && route?["match"] == json("[{method: {exact: GET}}]")
                && route?["mirror"] == json("{host: web-canary, port: {number: 80}}")
                && route?["mirrorPercentage"] == json("{value: 50}")
                && weights(route) == ["web-stable.default.svc.cluster.local": 90, "web-canary": 10]
        },
        IstioRow(
            field: "managedRoutes order", config: IstioVirtualService(name: "web", routes: ["primary"]),
            split: split(headers: [header], mirrors: [mirror], managed: ["header", "mirror"])
        ) {
            ($0[path: "spec", "http"]?.elements ?? []).map { $0["name"]?.stringValue ?? "" }
                == ["header", "mirror", "primary", "other"]
        },
        IstioRow(
            field: "managedRoutes removed", config: IstioVirtualService(name: "web", routes: ["primary"]),
            split: split(weight: 0, managed: ["header", "mirror"])
        ) { $0 == virtualService },
    ]

    @Test(arguments: istioRows) func istioVirtualService(_ row: IstioRow) throws {
        var input = Self.virtualService
        // A VirtualService that still has the routes of an earlier step: they are replaced.
        input[path: "spec", "http"] = .array(
            [Self.json("{name: header, route: [{destination: {host: stale}}]}")] + (input[path: "spec", "http"]?.elements ?? []))
        let output = try IstioRoutes.desired(
            virtualService: input, config: row.config, split: row.split, destinationRule: nil, ruleHost: nil,
            managedRoutes: row.split.managedRoutes ?? ["header"])
        #expect(row.check(output), "\(output)")
    }

    @Test func istioRouteSelectionSubsetsAndArgosErrors() throws {
        // routes left out: the VirtualService's only route (even named), else its first unnamed one.
        let single = Self.json("{spec: {http: [{name: main, route: [{destination: {host: web-stable}}, {destination: {host: web-canary}}]}]}}")
        let out = try IstioRoutes.desired(
            virtualService: single, config: IstioVirtualService(name: "web"), split: Self.split(), destinationRule: nil,
            ruleHost: nil, managedRoutes: [])
        #expect(Self.weights(out[path: "spec", "http"]?.elements.first) == ["web-stable": 90, "web-canary": 10])
        #expect(throws: TrafficObjectError("HTTP Route 'missing' is not found in the defined Virtual Service.")) {
            try IstioRoutes.desired(
                virtualService: Self.virtualService, config: IstioVirtualService(name: "web", routes: ["missing"]),
                split: Self.split(), destinationRule: nil, ruleHost: nil, managedRoutes: [])
        }
        var noCanary = single
        noCanary[path: "spec", "http"] = Self.json("[{route: [{destination: {host: web-stable}}]}]")
        #expect(throws: TrafficObjectError("Canary Service 'web-canary' not found in route")) {
            try IstioRoutes.desired(
                virtualService: noCanary, config: IstioVirtualService(name: "web"), split: Self.split(), destinationRule: nil,
                ruleHost: nil, managedRoutes: [])
        }
        // Subset level: destinations by subset, header routes to the rule's host, subsets labelled.
        let rule = IstioDestinationRule(name: "web", canarySubsetName: "canary", stableSubsetName: "stable")
        let subsets = Self.json(
            "{spec: {http: [{name: primary, route: [{destination: {host: web, subset: stable}, weight: 100}, {destination: {host: web, subset: canary}, weight: 0}]}]}}")
        let subsetOut = try IstioRoutes.desired(
            virtualService: subsets, config: IstioVirtualService(name: "web", routes: ["primary"]),
            split: Self.split(headers: [Self.header], managed: ["header"]), destinationRule: rule, ruleHost: "web",
            managedRoutes: ["header"])
        #expect(Self.weights(subsetOut[path: "spec", "http"]?.elements[1]) == ["stable": 90, "canary": 10])
        #expect(subsetOut[path: "spec", "http"]?.elements[0]["route"] == Self.json("[{destination: {host: web, subset: canary}, weight: 100}]"))
        let destinationRule = IstioRoutes.destinationRule(
            Self.json(
                "{metadata: {name: web}, spec: {host: web, subsets: [{name: canary, labels: {app: web}}, {name: stable, labels: {app: web}}, {name: debug}]}}"),
            config: rule, split: Self.split(), hashLabel: "rollouts-pod-template-hash")
        #expect(
            destinationRule
                == Self.json(
                    """
                    metadata: {name: web, annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}}
                    spec:
                      host: web
                      subsets:
                      - {name: canary, labels: {app: web, rollouts-pod-template-hash: c4n4ry}}
                      - {name: stable, labels: {app: web, rollouts-pod-template-hash: st4b1e}}
                      - {name: debug}
                    """))
    }

    // MARK: Gateway API

    static let httpRoute = json(
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: web, namespace: default}
        spec:
          parentRefs: [{name: gateway}]
          rules:
          - matches: [{path: {type: PathPrefix, value: /}}]
            backendRefs:
            - {group: "", kind: Service, name: web-stable, port: 80, weight: 1}
            - {group: "", kind: Service, name: web-canary, port: 80, weight: 1}
        """)

    struct GatewayRow: CustomTestStringConvertible, Sendable {
        var field: String
        var kind: GatewayAPIRoutes.Kind
        var useHeaderRoutes: Bool
        var split: TrafficSplit
        var expectedRules: String
        var testDescription: String { field }
    }

    static let weightedRule = """
        - matches: [{path: {type: PathPrefix, value: /}}]
          backendRefs:
          - {group: "", kind: Service, name: web-stable, port: 80, weight: 90}
          - {group: "", kind: Service, name: web-canary, port: 80, weight: 10}
        """

    static let gatewayRows: [GatewayRow] = [
        GatewayRow(field: "httpRoute", kind: .http, useHeaderRoutes: true, split: split(), expectedRules: weightedRule),
        GatewayRow(
            field: "setHeaderRoute", kind: .http, useHeaderRoutes: true, split: split(headers: [header], managed: ["header"]),
            expectedRules: weightedRule + """

                - name: header
                  matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-Canary, type: Exact, value: "yes"}]}]
                  backendRefs: [{group: "", kind: Service, name: web-canary, port: 80}]
                """),
        GatewayRow(
            field: "httpRoutes.useHeaderRoutes false", kind: .http, useHeaderRoutes: false,
            split: split(headers: [header], managed: ["header"]), expectedRules: weightedRule),
        GatewayRow(
            field: "setMirrorRoute", kind: .http, useHeaderRoutes: true, split: split(mirrors: [mirror], managed: ["mirror"]),
            expectedRules: weightedRule + """

                - name: mirror
                  matches: [{method: GET}]
                  backendRefs:
                  - {group: "", kind: Service, name: web-stable, port: 80, weight: 90}
                  - {group: "", kind: Service, name: web-canary, port: 80, weight: 10}
                  filters:
                  - type: RequestMirror
                    requestMirror: {backendRef: {group: "", kind: Service, name: web-canary, port: 80}, percent: 50}
                """),
        GatewayRow(
            field: "grpcRoute setHeaderRoute", kind: .grpc, useHeaderRoutes: true,
            split: split(headers: [header], managed: ["header"]),
            expectedRules: weightedRule + """

                - name: header
                  matches: [{headers: [{name: X-Canary, type: Exact, value: "yes"}]}]
                  backendRefs: [{group: "", kind: Service, name: web-canary, port: 80}]
                """),
        GatewayRow(
            field: "tcpRoute", kind: .tcp, useHeaderRoutes: true, split: split(headers: [header], managed: ["header"]),
            expectedRules: weightedRule),
    ]

    @Test(arguments: gatewayRows) func gatewayRoute(_ row: GatewayRow) throws {
        let out = try GatewayAPIRoutes.desired(
            route: Self.httpRoute, kind: row.kind, split: row.split, useHeaderRoutes: row.useHeaderRoutes,
            managedRoutes: row.split.managedRoutes ?? [])
        #expect(out[path: "spec", "rules"] == Self.json(row.expectedRules))
        #expect(out[path: "metadata", "labels"] == ["rollouts.argoproj.io/gatewayapi-canary": "in-progress"])
        #expect(out[path: "spec", "parentRefs"] == Self.httpRoute[path: "spec", "parentRefs"])
    }

    /// An experiment step's templates: backendRefs of their own beside the stable Service (with
    /// its Service's port), at their weights, stable reduced by them; gone once the step is over.
    @Test func gatewayRouteCarriesAnExperimentsServicesThenDropsThem() throws {
        var split = Self.split(weight: 0)
        split.additionalBackends = [
            AdditionalBackend(service: "ab-candidate", weight: 15), AdditionalBackend(service: "ab-baseline", weight: 10),
        ]
        let during = try GatewayAPIRoutes.desired(
            route: Self.httpRoute, kind: .http, split: split, useHeaderRoutes: true, managedRoutes: [],
            experimentPorts: ["ab-baseline": 8080])
        #expect(
            during[path: "spec", "rules"]
                == Self.json(
                    """
                    - matches: [{path: {type: PathPrefix, value: /}}]
                      backendRefs:
                      - {group: "", kind: Service, name: web-stable, port: 80, weight: 75}
                      - {group: "", kind: Service, name: web-canary, port: 80, weight: 0}
                      - {name: ab-baseline, port: 8080, weight: 10}
                      - {name: ab-candidate, weight: 15}
                    """))
        // Written again with the same weights, nothing moves; once over, they go.
        #expect(
            try GatewayAPIRoutes.desired(
                route: during, kind: .http, split: split, useHeaderRoutes: true, managedRoutes: [],
                previousExperiments: ["ab-baseline", "ab-candidate"], experimentPorts: ["ab-baseline": 8080]) == during)
        let after = try GatewayAPIRoutes.desired(
            route: during, kind: .http, split: Self.split(weight: 10), useHeaderRoutes: true, managedRoutes: [],
            previousExperiments: ["ab-baseline", "ab-candidate"])
        #expect(after[path: "spec", "rules"] == Self.json(Self.weightedRule))
    }

    /// The same on Istio: destinations by host, added after the others in name order, removed after.
    @Test func istioRouteCarriesAnExperimentsServicesThenDropsThem() throws {
        var split = Self.split(weight: 5)
        split.additionalBackends = [AdditionalBackend(service: "ab-baseline", weight: 10)]
        let config = IstioVirtualService(name: "web", routes: ["primary"])
        let during = try IstioRoutes.desired(
            virtualService: Self.virtualService, config: config, split: split, destinationRule: nil, ruleHost: nil,
            managedRoutes: [])
        #expect(
            Self.weights(during[path: "spec", "http"]?.elements.first)
                == ["web-stable.default.svc.cluster.local": 85, "web-canary": 5, "ab-baseline": 10])
        #expect(Self.weights(during[path: "spec", "tcp"]?.elements.first) == ["web-stable": 85, "web-canary": 5, "ab-baseline": 10])
        // A destination nobody put there for an experiment is the user's, and stays.
        #expect(during[path: "spec", "http"]?.elements[1] == Self.virtualService[path: "spec", "http"]?.elements[1])
        let after = try IstioRoutes.desired(
            virtualService: during, config: config, split: Self.split(weight: 5), destinationRule: nil, ruleHost: nil,
            managedRoutes: [], previousExperiments: ["ab-baseline"])
        #expect(
            Self.weights(after[path: "spec", "http"]?.elements.first)
                == ["web-stable.default.svc.cluster.local": 95, "web-canary": 5])
        #expect(Self.weights(after[path: "spec", "tcp"]?.elements.first) == ["web-stable": 95, "web-canary": 5])
    }

    @Test func gatewayRouteReturnsToTheUsersRouteAndNamesAMissingBackend() throws {
        let during = try GatewayAPIRoutes.desired(
            route: Self.httpRoute, kind: .http, split: Self.split(headers: [Self.header], managed: ["header"]),
            useHeaderRoutes: true, managedRoutes: ["header"])
        let after = try GatewayAPIRoutes.desired(
            route: during, kind: .http, split: Self.split(weight: 0, managed: ["header"]), useHeaderRoutes: true,
            managedRoutes: ["header"])
        var expected = Self.httpRoute
        expected[path: "spec", "rules"] = Self.json(
            Self.weightedRule.replacingOccurrences(of: "weight: 90", with: "weight: 100").replacingOccurrences(
                of: "weight: 10}", with: "weight: 0}"))
        #expect(after == expected)
        var noCanary = Self.httpRoute
        noCanary[path: "spec", "rules"] = Self.json("[{backendRefs: [{name: web-stable}]}]")
        #expect(throws: TrafficObjectError("backendRef was not found in httpRoute")) {
            try GatewayAPIRoutes.desired(route: noCanary, kind: .http, split: Self.split(), useHeaderRoutes: true, managedRoutes: [])
        }
        // A prefix header match is a regular expression, as the plugin writes it.
        #expect(
            GatewayAPIRoutes.headerMatch(name: "X-Ver", StringMatch(prefix: "v2"))
                == ["name": "X-Ver", "type": "RegularExpression", "value": "v2.*"])
    }

    @Test(arguments: [
        ("{metadata: {generation: 2}}", nil as Bool?),
        ("{metadata: {generation: 2}, status: {parents: []}}", nil),
        ("{metadata: {generation: 2}, status: {parents: [{conditions: [{type: Accepted, status: 'True', observedGeneration: 2}]}]}}", true),
        ("{metadata: {generation: 3}, status: {parents: [{conditions: [{type: Accepted, status: 'True', observedGeneration: 2}]}]}}", false),
        ("{metadata: {generation: 2}, status: {parents: [{conditions: [{type: Accepted, status: 'False', observedGeneration: 2}]}]}}", false),
        (
            "{metadata: {generation: 2}, status: {parents: [{conditions: [{type: Accepted, status: 'True', observedGeneration: 2}]}, {conditions: []}]}}",
            false
        ),
    ])
    func gatewayRouteVerifiedFromItsParents(_ route: String, _ verified: Bool?) {
        #expect(GatewayAPIRoutes.accepted(Self.json(route)) == verified)
    }

    // MARK: Traefik

    @Test func traefikServiceWeights() throws {
        let service = Self.json(
            """
            apiVersion: traefik.io/v1alpha1
            kind: TraefikService
            metadata: {name: web}
            spec:
              weighted:
                services:
                - {name: web-stable, port: 80, weight: 100}
                - {name: web-canary, port: 80, weight: 0}
            """)
        let out = try TraefikWeights.desired(service: service, split: Self.split())
        #expect(
            out[path: "spec", "weighted", "services"]
                == Self.json("[{name: web-stable, port: 80, weight: 90}, {name: web-canary, port: 80, weight: 10}]"))
        #expect(throws: TrafficObjectError("spec.weighted.services was not found in traefik service manifest")) {
            try TraefikWeights.desired(service: Self.json("{spec: {}}"), split: Self.split())
        }
        #expect(throws: TrafficObjectError("traefik canary service was not found")) {
            try TraefikWeights.desired(service: Self.json("{spec: {weighted: {services: [{name: web-stable}]}}}"), split: Self.split())
        }
    }

    // MARK: ALB

    static let albIngress = json(
        """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: default
          annotations:
            alb.ingress.kubernetes.io/scheme: internet-facing
            rollouts.argoproj.io/managed-alb-annotations: '{"other":["alb.ingress.kubernetes.io/actions.other"]}'
        spec:
          ingressClassName: alb
          rules:
          - host: web.example.com
            http:
              paths:
              - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
              - {path: /static, pathType: Prefix, backend: {service: {name: assets, port: {number: 80}}}}
          - host: admin.example.com
            http:
              paths:
              - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
        """)

    static func forward(_ groups: [(String, Int)], port: Int = 80, sticky: String = "") -> String {
        let list = groups.map { #"{"ServiceName":"\#($0.0)","ServicePort":"\#(port)","Weight":\#($0.1)}"# }
        return #"{"Type":"forward","ForwardConfig":{"TargetGroups":[\#(list.joined(separator: ","))]\#(sticky)}}"#
    }

    struct ALBRow: CustomTestStringConvertible, Sendable {
        var field: String
        var config: ALBTrafficRouting
        var split: TrafficSplit
        /// The annotations Argo writes (the user's and the other rollout's are checked apart).
        var annotations: [String: String]
        var testDescription: String { field }
    }

    static let albRows: [ALBRow] = {
        let key = "alb.ingress.kubernetes.io/actions.web-stable"
        func managed(_ keys: [String]) -> String {
            #"{"other":["alb.ingress.kubernetes.io/actions.other"],"web":["#
                + keys.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
        }
        var sticky = ALBTrafficRouting(ingress: "web", servicePort: 443)
        sticky.stickinessConfig = ALBStickinessConfig(enabled: true, durationSeconds: 3600)
        var prefixed = ALBTrafficRouting(ingress: "web", servicePort: 80)
        prefixed.annotationPrefix = "custom.alb.example"
        var rooted = ALBTrafficRouting(ingress: "web", servicePort: 80, rootService: "web-stable")
        rooted.stickinessConfig = ALBStickinessConfig(enabled: false, durationSeconds: 0)
        var experiment = split(weight: 10)
        experiment.additionalBackends = [AdditionalBackend(service: "web-exp", weight: 20)]
        return [
            ALBRow(
                field: "servicePort", config: ALBTrafficRouting(ingress: "web", servicePort: 80), split: split(),
                annotations: [key: forward([("web-canary", 10), ("web-stable", 90)]), "managed": managed([key])]),
            ALBRow(
                field: "stickinessConfig", config: sticky, split: split(weight: 33),
                annotations: [
                    key: forward(
                        [("web-canary", 33), ("web-stable", 67)], port: 443,
                        sticky: #","TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":3600}"#),
                    "managed": managed([key]),
                ]),
            ALBRow(
                field: "stickinessConfig disabled, rootService named", config: rooted, split: split(weight: 0),
                annotations: [key: forward([("web-canary", 0), ("web-stable", 100)]), "managed": managed([key])]),
            ALBRow(
                field: "annotationPrefix", config: prefixed, split: split(),
                annotations: [
                    "custom.alb.example/actions.web-stable": forward([("web-canary", 10), ("web-stable", 90)]),
                    "managed": managed(["custom.alb.example/actions.web-stable"]),
                ]),
            ALBRow(
                field: "maxTrafficWeight", config: ALBTrafficRouting(ingress: "web", servicePort: 80),
                split: split(weight: 300, maxWeight: 1000),
                annotations: [key: forward([("web-canary", 300), ("web-stable", 700)]), "managed": managed([key])]),
            ALBRow(
                field: "experiment templates", config: ALBTrafficRouting(ingress: "web", servicePort: 80),
                split: experiment,
                annotations: [
                    key: forward([("web-canary", 10), ("web-exp", 20), ("web-stable", 70)]), "managed": managed([key]),
                ]),
        ]
    }()

    @Test(arguments: albRows) func albActionAnnotation(_ row: ALBRow) throws {
        let out = try ALBIngress.desired(ingress: Self.albIngress, split: row.split, config: row.config)
        var annotations = stringMap(out[path: "metadata", "annotations"])
        #expect(annotations.removeValue(forKey: "alb.ingress.kubernetes.io/scheme") == "internet-facing")
        annotations["managed"] = annotations.removeValue(forKey: ALBIngress.managedAnnotations)
        #expect(annotations == row.annotations)
        // Weights change annotations only: the user's rules stay as they are.
        #expect(out["spec"] == Self.albIngress["spec"])
    }

    /// A header route: its action (everything to the canary) and its conditions, a path at the
    /// head of every rule, in managedRoutes order; then, once the route is gone, none of it.
    @Test func albHeaderRouteAddsAnActionAConditionAndAPathThenTakesThemOut() throws {
        let config = ALBTrafficRouting(ingress: "web", servicePort: 80)
        let second = SetHeaderRoute(
            name: "second",
            match: [
                HeaderRoutingMatch(headerName: "X-Group", headerValue: StringMatch(exact: "a")),
                HeaderRoutingMatch(headerName: "X-Group", headerValue: StringMatch(exact: "b")),
                HeaderRoutingMatch(headerName: "X-Canary", headerValue: StringMatch(exact: "yes")),
            ])
        let managed = ["header", "second"]
        // `second` was set first; the paths still follow managedRoutes.
        let first = try ALBIngress.desired(
            ingress: Self.albIngress, split: Self.split(headers: [second], managed: managed), config: config)
        let routed = try ALBIngress.desired(
            ingress: first, split: Self.split(headers: [second, Self.header], managed: managed), config: config)
        let annotations = stringMap(routed[path: "metadata", "annotations"])
        #expect(annotations["alb.ingress.kubernetes.io/actions.header"] == Self.forward([("web-canary", 100)]))
        #expect(
            annotations["alb.ingress.kubernetes.io/conditions.header"]
                == #"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}}]"#)
        #expect(
            annotations["alb.ingress.kubernetes.io/conditions.second"]
                == #"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Group","values":["a","b"]}},"#
                + #"{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}}]"#)
        #expect(
            annotations[ALBIngress.managedAnnotations]
                == #"{"other":["alb.ingress.kubernetes.io/actions.other"],"web":["alb.ingress.kubernetes.io/actions.web-stable","#
                + #""alb.ingress.kubernetes.io/actions.second","alb.ingress.kubernetes.io/conditions.second","#
                + #""alb.ingress.kubernetes.io/actions.header","alb.ingress.kubernetes.io/conditions.header"]}"#)
        let routePath = { (name: String) in
            "{path: /*, pathType: ImplementationSpecific, backend: {service: {name: \(name), port: {name: use-annotation}}}}"
        }
        #expect(
            routed[path: "spec", "rules"]
                == Self.json(
                    """
                    - host: web.example.com
                      http:
                        paths:
                        - \(routePath("header"))
                        - \(routePath("second"))
                        - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
                        - {path: /static, pathType: Prefix, backend: {service: {name: assets, port: {number: 80}}}}
                    - host: admin.example.com
                      http:
                        paths:
                        - \(routePath("header"))
                        - \(routePath("second"))
                        - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: web-stable, port: {name: use-annotation}}}}
                    """))
        // The routes end (abort, or the last step): the user's rules and annotations come back,
        // with the weight action at 0 and its key still listed.
        let ended = try ALBIngress.desired(
            ingress: routed, split: Self.split(weight: 0, managed: managed), config: config)
        #expect(ended["spec"] == Self.albIngress["spec"])
        var left = stringMap(ended[path: "metadata", "annotations"])
        #expect(
            left.removeValue(forKey: "alb.ingress.kubernetes.io/actions.web-stable")
                == Self.forward([("web-canary", 0), ("web-stable", 100)]))
        #expect(
            left[ALBIngress.managedAnnotations]
                == #"{"other":["alb.ingress.kubernetes.io/actions.other"],"web":["alb.ingress.kubernetes.io/actions.web-stable"]}"#
        )
        left.removeValue(forKey: ALBIngress.managedAnnotations)
        #expect(left == ["alb.ingress.kubernetes.io/scheme": "internet-facing"])
    }

    @Test func albRefusesAnIngressWithoutTheRootServiceAndAnUnreadableManagedList() throws {
        let config = ALBTrafficRouting(ingress: "web", servicePort: 80)
        var other = Self.albIngress
        other[path: "spec", "rules"] = Self.json("[{http: {paths: [{path: /, backend: {service: {name: admin}}}]}}]")
        #expect(throws: TrafficObjectError("ingress `web` has no rules using service web-stable backend")) {
            try ALBIngress.desired(ingress: other, split: Self.split(), config: config)
        }
        var garbled = Self.albIngress
        garbled[path: "metadata", "annotations", ALBIngress.managedAnnotations] = "web:actions"
        #expect(
            throws: TrafficObjectError(
                "ingress `web`: annotation rollouts.argoproj.io/managed-alb-annotations is not a JSON object of rollout "
                    + "names to annotation lists; fix or remove it")
        ) {
            try ALBIngress.desired(ingress: garbled, split: Self.split(), config: config)
        }
    }

    // MARK: Ambassador

    @Test(arguments: [
        ("web-stable:80", "web-canary:80"),
        ("http://web-stable.shop:8080", "http://web-canary.shop:8080"),
        ("web-stable", "web-canary"),
        ("web-stable-web-stable:80", "web-canary-web-stable:80"),
    ])
    func ambassadorCanaryMapping(_ service: String, _ canaryService: String) throws {
        let base = Self.json(
            """
            apiVersion: getambassador.io/v2
            kind: Mapping
            metadata: {name: web, namespace: shop, uid: u9, resourceVersion: "41", labels: {team: shop}, annotations: {a: b}}
            spec: {prefix: /, service: "\(service)", timeout_ms: 3000}
            status: {state: Running}
            """)
        let canary = try AmbassadorMappings.canary(base: base, split: Self.split(weight: 33))
        #expect(
            canary
                == Self.json(
                    """
                    apiVersion: getambassador.io/v2
                    kind: Mapping
                    metadata: {name: web-canary, namespace: shop}
                    spec: {prefix: /, service: "\(canaryService)", timeout_ms: 3000, weight: 33}
                    """))
    }

    @Test func ambassadorRefusesABaseMappingWithAWeightAndCutsLongNames() throws {
        let weighted = Self.json("{metadata: {name: web}, spec: {service: web-stable, weight: 50}}")
        #expect(throws: TrafficObjectError(#"Ambassador mapping "web" can not define weight"#)) {
            try AmbassadorMappings.canary(base: weighted, split: Self.split())
        }
        let long = String(repeating: "m", count: 300)
        #expect(AmbassadorMappings.canaryName(long) == String(repeating: "m", count: 246) + "-canary")
        #expect(AmbassadorMappings.canaryName("web") == "web-canary")
    }

    // MARK: APISIX

    static let apisixRoute = json(
        """
        apiVersion: apisix.apache.org/v2
        kind: ApisixRoute
        metadata: {name: web, namespace: default, uid: u7, resourceVersion: "12", labels: {team: shop}}
        spec:
          http:
          - name: web
            match: {paths: [/*], hosts: [web.example.com]}
            backends:
            - {serviceName: web-stable, servicePort: 80, weight: 100}
            - {serviceName: web-canary, servicePort: 80, weight: 0}
          - name: api
            priority: 3
            match: {paths: [/api/*]}
            backends:
            - {serviceName: web-canary, servicePort: 80, weight: 0}
            - {serviceName: web-stable, servicePort: 80, weight: 100}
          - name: assets
            match: {paths: [/static/*]}
            backends: [{serviceName: assets, servicePort: 80}]
        """)

    @Test func apisixRuleWeights() throws {
        // The default rule is the one named like the route; named rules otherwise.
        let first = try ApisixRoutes.weighted(route: Self.apisixRoute, split: Self.split(), config: ApisixRoute(name: "web"))
        var expected = Self.apisixRoute
        expected[path: "spec", "http"] = .array(
            [
                Self.json(
                    """
                    {name: web, match: {paths: [/*], hosts: [web.example.com]},
                     backends: [{serviceName: web-stable, servicePort: 80, weight: 90}, {serviceName: web-canary, servicePort: 80, weight: 10}]}
                    """)
            ] + Array(Self.apisixRoute[path: "spec", "http"]!.elements.dropFirst()))
        #expect(first == expected)
        let both = try ApisixRoutes.weighted(
            route: Self.apisixRoute, split: Self.split(weight: 300, maxWeight: 1000),
            config: ApisixRoute(name: "web", rules: ["web", "api"]))
        let weights = both[path: "spec", "http"]!.elements.prefix(2).map { rule in
            rule["backends"]!.elements.map { "\($0["serviceName"]!.stringValue!)=\($0["weight"]!.integerValue!)" }
        }
        #expect(weights == [["web-stable=700", "web-canary=300"], ["web-canary=300", "web-stable=700"]])
    }

    @Test(arguments: [
        ("{spec: {}}", ApisixRoute(name: "web"), "spec.http was not found in Apisix Route manifest"),
        ("{spec: {http: [{backends: []}]}}", ApisixRoute(name: "web"), "Apisix http route rule name field not found"),
        ("{spec: {http: [{name: web}]}}", ApisixRoute(name: "web", rules: ["api"]), "Apisix http route rule api not found"),
        ("{spec: {http: [{name: web}]}}", ApisixRoute(name: "web"), "Apisix http route backends not found"),
        ("{spec: {http: [{name: web, backends: [{weight: 1}]}]}}", ApisixRoute(name: "web"), "serviceName field was not found in backend"),
        (
            "{spec: {http: [{name: web, backends: [{serviceName: web-stable}]}]}}", ApisixRoute(name: "web"),
            "apisix route web-canary backend was not found"
        ),
    ])
    func apisixNamesWhatTheRouteLacks(_ route: String, _ config: ApisixRoute, _ message: String) {
        #expect(throws: TrafficObjectError(message)) {
            try ApisixRoutes.weighted(route: Self.json(route), split: Self.split(), config: config)
        }
    }

    @Test func apisixHeaderRouteIsAnApisixRouteOwnedByTheRollout() throws {
        let route = SetHeaderRoute(
            name: "header",
            match: [
                HeaderRoutingMatch(headerName: "X-Canary", headerValue: StringMatch(exact: "yes")),
                HeaderRoutingMatch(headerName: "User-Agent", headerValue: StringMatch(prefix: "Chrome")),
                HeaderRoutingMatch(headerName: "X-Tier", headerValue: StringMatch(regex: "gold|silver")),
            ])
        let config = ApisixRoute(name: "web", rules: ["web", "api"])
        let made = try ApisixRoutes.headerRoute(
            route, base: Self.apisixRoute, existing: nil, split: Self.split(), config: config, owner: Self.owner)
        #expect(
            made["metadata"]
                == Self.json("{name: header, namespace: default, labels: {team: shop}, ownerReferences: [\(Self.owner.serializedString())]}"))
        let exprs = Self.json(
            """
            - {subject: {scope: Header, name: X-Canary}, op: Equal, value: "yes"}
            - {subject: {scope: Header, name: User-Agent}, op: RegexMatch, value: "^Chrome.*"}
            - {subject: {scope: Header, name: X-Tier}, op: RegexMatch, value: "gold|silver"}
            """)
        let rules = made[path: "spec", "http"]!.elements
        #expect(rules[0]["priority"] == 1 && rules[1]["priority"] == 4, "one above the rule copied")
        #expect(rules[0][path: "match", "exprs"] == exprs && rules[1][path: "match", "exprs"] == exprs)
        #expect(rules[0][path: "match", "paths"] == ["/*"], "the rule's own match is kept")
        #expect(rules[0]["backends"] == Self.json("[{serviceName: web-canary, servicePort: 80, weight: 100}]"))
        #expect(rules[2] == Self.apisixRoute[path: "spec", "http"]!.elements[2], "rules not named are copied as they are")
        // Set again (another match): the match changes, the priority does not climb.
        let again = try ApisixRoutes.headerRoute(
            SetHeaderRoute(name: "header", match: [route.match![0]]), base: Self.apisixRoute, existing: made,
            split: Self.split(), config: config, owner: Self.owner)
        #expect(again[path: "spec", "http"]!.elements[0]["priority"] == 1)
        #expect(again[path: "spec", "http"]!.elements[0][path: "match", "exprs"] == .array([exprs.elements[0]]))
    }

    // MARK: App Mesh

    static let appMeshConfig = AppMeshTrafficRouting(
        virtualService: AppMeshVirtualService(name: "web"),
        virtualNodeGroup: AppMeshVirtualNodeGroup(canary: "web-canary", stable: "web-stable"))

    static let virtualRouter = json(
        """
        apiVersion: appmesh.k8s.aws/v1beta2
        kind: VirtualRouter
        metadata: {name: web-router, namespace: default}
        spec:
          listeners: [{portMapping: {port: 80, protocol: http}}]
          routes:
          - name: primary
            httpRoute:
              match: {prefix: /}
              action:
                weightedTargets:
                - {virtualNodeRef: {name: web-canary}, weight: 0}
                - {virtualNodeRef: {name: web-stable}, weight: 100}
          - name: grpc
            grpcRoute:
              match: {serviceName: web.Greeter}
              action:
                weightedTargets:
                - {virtualNodeRef: {name: web-stable, namespace: default}, weight: 100}
                - {virtualNodeRef: {name: web-canary, namespace: other}, weight: 7}
                - {virtualNodeRef: {name: web-canary}, weight: 0}
        """)

    @Test func appMeshRouterWeights() throws {
        func weights(_ router: JSONValue) -> [[Int64]] {
            router[path: "spec", "routes"]!.elements.map { route in
                let kind = AppMeshRoutes.routeKinds.first { route[$0] != nil }!
                return route[path: [kind, "action", "weightedTargets"]]!.elements.map { $0["weight"]!.integerValue! }
            }
        }
        let all = try AppMeshRoutes.weighted(router: Self.virtualRouter, split: Self.split(), config: Self.appMeshConfig)
        // Another namespace's node of the same name keeps its weight.
        #expect(weights(all) == [[10, 90], [90, 7, 10]])
        var onlyPrimary = Self.appMeshConfig
        onlyPrimary.virtualService?.routes = ["primary"]
        let one = try AppMeshRoutes.weighted(
            router: Self.virtualRouter, split: Self.split(weight: 250, maxWeight: 500), config: onlyPrimary)
        #expect(weights(one) == [[250, 250], [100, 7, 0]])
        #expect(one[path: "spec", "listeners"] == Self.virtualRouter[path: "spec", "listeners"])
    }

    @Test(arguments: [
        ("{metadata: {name: r}, spec: {}}", #"spec.routes: Invalid value: "r": No routes found"#),
        ("{metadata: {name: r}, spec: {routes: [{httpRoute: {}}]}}", #"spec.routes[0].name: Invalid value: "r": not well-formed"#),
        ("{metadata: {name: r}, spec: {routes: [{name: a, udpRoute: {}}]}}", #"spec.routes[0]: Invalid value: "r": not well-formed"#),
        (
            "{metadata: {name: r}, spec: {routes: [{name: a, tcpRoute: {action: {}}}]}}",
            #"spec.routes[0].tcpRoute.action.weightedTargets: Invalid value: "r": not well-formed"#
        ),
        (
            "{metadata: {name: r}, spec: {routes: [{name: a, http2Route: {action: {weightedTargets: [{weight: 1}]}}}]}}",
            #"spec.routes[0].http2Route.action.weightedTargets[0].virtualNodeRef: Invalid value: "r": not well-formed"#
        ),
    ])
    func appMeshNamesWhatTheRouterLacks(_ router: String, _ message: String) {
        #expect(throws: TrafficObjectError(message)) {
            try AppMeshRoutes.weighted(router: Self.json(router), split: Self.split(), config: Self.appMeshConfig)
        }
    }

    @Test func appMeshNodesFollowTheHashesAndTheServiceNamesItsRouter() throws {
        let node = Self.json(
            "{metadata: {name: web-canary}, spec: {podSelector: {matchLabels: {app: web}}, listeners: [{portMapping: {port: 80}}]}}")
        let selected = AppMeshRoutes.node(node, hash: "c4n4ry", hashLabel: "rollouts-pod-template-hash", rollout: "web")
        #expect(selected[path: "spec", "podSelector"] == Self.json("{matchLabels: {app: web, rollouts-pod-template-hash: c4n4ry}}"))
        #expect(selected[path: "metadata", "annotations"] == ["argo-rollouts.argoproj.io/managed-by-rollouts": "web"])
        // Argo's placeholders: no stable yet, and no canary apart from stable.
        var split = Self.split()
        #expect(AppMeshRoutes.hashes(of: split) == ("st4b1e", "c4n4ry"))
        split.canaryHash = "st4b1e"
        #expect(AppMeshRoutes.hashes(of: split) == ("st4b1e", "canary-hash"))
        split.stableHash = nil
        #expect(AppMeshRoutes.hashes(of: split) == ("stable-hash", "st4b1e"))

        let service = Self.json(
            "{metadata: {name: web, namespace: shop}, spec: {provider: {virtualRouter: {virtualRouterRef: {name: web-router}}}}}")
        #expect(try AppMeshRoutes.routerReference(of: service) == ("shop", "web-router"))
        let elsewhere = Self.json(
            "{metadata: {name: web, namespace: shop}, spec: {provider: {virtualRouter: {virtualRouterRef: {name: r, namespace: mesh}}}}}")
        #expect(try AppMeshRoutes.routerReference(of: elsewhere) == ("mesh", "r"))
        #expect(throws: TrafficObjectError("Virtual-service is not associated with virtual-router")) {
            try AppMeshRoutes.routerReference(of: Self.json("{spec: {provider: {virtualNode: {virtualNodeRef: {name: n}}}}}"))
        }
    }

    // MARK: Contour

    static let httpProxy = json(
        """
        apiVersion: projectcontour.io/v1
        kind: HTTPProxy
        metadata: {name: web, namespace: default, generation: 4}
        spec:
          virtualhost: {fqdn: web.example.com}
          routes:
          - conditions: [{prefix: /}]
            services:
            - {name: web-stable, port: 80, weight: 100}
            - {name: web-canary, port: 80, weight: 0}
          - conditions: [{prefix: /beta}]
            services:
            - {name: web-stable, port: 80, weight: 70}
            - {name: web-canary, port: 80, weight: 0}
            - {name: web-beta, port: 80, weight: 30}
            - {name: web-shadow, port: 80, mirror: true, weight: 100}
          - conditions: [{prefix: /static}]
            services: [{name: assets, port: 80}]
        """)

    @Test func contourRouteWeights() throws {
        func weights(_ proxy: JSONValue) -> [[Int64]] {
            proxy[path: "spec", "routes"]!.elements.map { route in route["services"]!.elements.map { $0["weight"]?.integerValue ?? -1 } }
        }
        let at33 = try ContourProxies.weighted(proxy: Self.httpProxy, split: Self.split(weight: 33))
        // The canary takes its share of what the other Services leave (float32, truncated, as the plugin does).
        #expect(weights(at33) == [[67, 33], [47, 23, 30, 100], [-1]])
        #expect(at33[path: "spec", "virtualhost"] == Self.httpProxy[path: "spec", "virtualhost"])
        let perMille = try ContourProxies.weighted(proxy: Self.httpProxy, split: Self.split(weight: 250, maxWeight: 1000))
        #expect(weights(perMille) == [[75, 25], [53, 17, 30, 100], [-1]])
        var broken = Self.httpProxy
        broken[path: "spec", "routes"] = Self.json("[{services: [{name: web-canary, weight: 0}, {name: web-stable, weight: 50}]}]")
        #expect(throws: TrafficObjectError("the total weight must equals to 100")) {
            try ContourProxies.weighted(proxy: broken, split: Self.split())
        }
        broken[path: "spec", "routes"] = Self.json("[{services: [{name: web-canary, weight: 100}]}]")
        #expect(throws: TrafficObjectError("the service: web-stable is not found in httpproxy")) {
            try ContourProxies.weighted(proxy: broken, split: Self.split())
        }
    }

    @Test func contourVerifiesByTheValidConditionAndTheWeights() throws {
        var proxy = try ContourProxies.weighted(proxy: Self.httpProxy, split: Self.split())
        #expect(ContourProxies.verified(proxy: proxy, split: Self.split()) == nil, "no Contour has written a status")
        proxy["status"] = Self.json("{conditions: [{type: Valid, status: 'True', observedGeneration: 4}]}")
        #expect(ContourProxies.verified(proxy: proxy, split: Self.split()) == true)
        #expect(ContourProxies.verified(proxy: proxy, split: Self.split(weight: 20)) == false, "weights not there yet")
        proxy[path: "metadata", "generation"] = 5
        #expect(ContourProxies.verified(proxy: proxy, split: Self.split()) == false, "an older generation")
        proxy[path: "status", "conditions"] = Self.json("[{type: Valid, status: 'False', observedGeneration: 5}]")
        #expect(ContourProxies.verified(proxy: proxy, split: Self.split()) == false)
    }

    // MARK: OpenShift

    static let openshiftRoute = json(
        """
        apiVersion: route.openshift.io/v1
        kind: Route
        metadata: {name: web, namespace: default}
        spec:
          host: web.apps.example.com
          port: {targetPort: http}
          tls: {termination: edge}
          to: {kind: Service, name: web-stable, weight: 100}
        """)

    @Test func openshiftRouteBackends() throws {
        let at10 = OpenShiftRoutes.weighted(route: Self.openshiftRoute, split: Self.split(weight: 10))
        #expect(at10[path: "spec", "to"] == Self.json("{kind: Service, name: web-stable, weight: 90}"))
        #expect(at10[path: "spec", "alternateBackends"] == Self.json("[{kind: Service, name: web-canary, weight: 10}]"))
        #expect(at10[path: "spec", "tls"] == Self.openshiftRoute[path: "spec", "tls"])
        // Out of a maxTrafficWeight of 1000, the weights are still out of 100 (Routes take 0 to 256).
        let perMille = OpenShiftRoutes.weighted(route: Self.openshiftRoute, split: Self.split(weight: 333, maxWeight: 1000))
        #expect(perMille[path: "spec", "to", "weight"] == 67)
        #expect(perMille[path: "spec", "alternateBackends"] == Self.json("[{kind: Service, name: web-canary, weight: 33}]"))
        // Back at 0 the alternate backend goes: the Route is as the user wrote it.
        #expect(OpenShiftRoutes.weighted(route: at10, split: Self.split(weight: 0)) == Self.openshiftRoute)
        #expect(OpenShiftRoutes.weighted(route: at10, split: Self.split(weight: 100))[path: "spec", "to", "weight"] == 0)
        #expect(OpenShiftRoutes.reference("web", namespace: "shop") == ("shop", "web"))
        #expect(OpenShiftRoutes.reference("edge/web", namespace: "shop") == ("edge", "web"))
    }

    // MARK: Gloo Edge

    static let glooVirtualService = json(
        """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: echo, namespace: gloo-system}
        spec:
          virtualHost:
            domains: ['*']
            routes:
            - name: route-1
              matchers: [{prefix: /}]
              routeAction: {single: {upstream: {name: web-stable, namespace: shop}}}
            - name: route-2
              matchers: [{prefix: /api}]
              routeAction:
                multi:
                  destinations:
                  - {destination: {upstream: {name: WEB-STABLE, namespace: shop}}, weight: 100}
                  - {destination: {upstream: {name: web-canary, namespace: shop}}, weight: 0}
            - name: static
              matchers: [{prefix: /static}]
              routeAction: {single: {upstream: {name: assets, namespace: shop}}}
        """)

    @Test func glooEdgeVirtualServiceWeights() throws {
        let config = GlooEdgeTrafficRouting(virtualService: .init(name: "echo"), routes: ["route-1", "route-2"])
        let at10 = try GlooEdgeRoutes.weighted(virtualService: Self.glooVirtualService, config: config, split: Self.split())
        let routes = try #require(at10[path: "spec", "virtualHost", "routes"]?.arrayValue)
        // A single action becomes a multi one with a copy of the stable destination for the canary.
        #expect(
            routes[0]["routeAction"]
                == Self.json(
                    """
                    multi:
                      destinations:
                      - {destination: {upstream: {name: web-stable, namespace: shop}}, weight: 90}
                      - {destination: {upstream: {name: web-canary, namespace: shop}}, weight: 10}
                    """))
        // Upstream names compare without case; an existing canary destination is reused.
        #expect(
            routes[1][path: "routeAction", "multi", "destinations"]?.arrayValue?.map { $0["weight"] } == [90, 10])
        #expect(routes[2] == Self.glooVirtualService[path: "spec", "virtualHost", "routes"]?.arrayValue?[2])
        // Back at 0 the canary destination stays, at weight 0, as the plugin leaves it.
        let at0 = try GlooEdgeRoutes.weighted(virtualService: at10, config: config, split: Self.split(weight: 0))
        #expect(
            at0[path: "spec", "virtualHost", "routes"]?.arrayValue?[0][path: "routeAction", "multi", "destinations"]?
                .arrayValue?.map { $0["weight"] } == [100, 0])
        let perMille = try GlooEdgeRoutes.weighted(
            virtualService: Self.glooVirtualService, config: config, split: Self.split(weight: 250, maxWeight: 1000))
        #expect(
            perMille[path: "spec", "virtualHost", "routes"]?.arrayValue?[1][path: "routeAction", "multi", "destinations"]?
                .arrayValue?.map { $0["weight"] } == [750, 250])
    }

    @Test(arguments: [
        (
            [String](), "failed canary rollout: virtual host has multiple routes but canary config doesn't specify which routes to use"
        ),
        (
            ["route-1", "static"], "failed canary rollout: some/all routes specified in canary rollout configuration do not have stable upstreams"
        ),
        (
            ["static"], "failed canary rollout: some/all routes specified in canary rollout configuration do not have stable upstreams"
        ),
    ])
    func glooEdgeVirtualServiceRefusals(routes: [String], message: String) {
        let config = GlooEdgeTrafficRouting(virtualService: .init(name: "echo"), routes: routes)
        #expect(throws: TrafficObjectError(message)) {
            try GlooEdgeRoutes.weighted(virtualService: Self.glooVirtualService, config: config, split: Self.split())
        }
    }

    @Test func glooEdgeRouteTables() throws {
        let table = Self.json(
            """
            apiVersion: gateway.solo.io/v1
            kind: RouteTable
            metadata: {name: echo-routes, namespace: shop, labels: {team: web}}
            spec:
              routes:
              - name: route-1
                matchers: [{prefix: /}]
                routeAction: {single: {upstream: {name: web-stable, namespace: shop}}}
            """)
        var other = table
        other[path: "metadata", "name"] = "assets"
        other[path: "spec", "routes"] = Self.json("[{name: a, routeAction: {single: {upstream: {name: assets}}}}]")
        let config = GlooEdgeTrafficRouting(routeTable: .init(labels: ["team": "web"]))
        let weighted = try GlooEdgeRoutes.weighted(routeTables: [table, other], config: config, split: Self.split())
        #expect(
            weighted[0][path: "spec", "routes"]?.arrayValue?[0][path: "routeAction", "multi", "destinations"]?.arrayValue?
                .map { $0["weight"] } == [90, 10])
        #expect(weighted[1] == other, "a table without the stable upstream is left alone")
        #expect(throws: TrafficObjectError(
            "failed canary rollout: couldn't find stable services in RouteTables selected with Name: '', Namespace: '', "
                + "Labels: map[team:web], with route names in []")) {
            try GlooEdgeRoutes.weighted(routeTables: [other], config: config, split: Self.split())
        }
        var two = table
        two[path: "spec", "routes"] = .array([table[path: "spec", "routes"]!.arrayValue![0], other[path: "spec", "routes"]!.arrayValue![0]])
        #expect(throws: TrafficObjectError(
            "failed canary rollout: route table shop/echo-routes has multiple routes but canary config doesn't specify which routes to use")) {
            try GlooEdgeRoutes.weighted(routeTables: [two], config: config, split: Self.split())
        }
        #expect(GlooEdgeRoutes.labelSelector(["b": "2", "a": "1"]) == "a=1,b=2")
    }

    // MARK: Consul

    static let consulConfig = ConsulTrafficRouting(
        serviceName: "web", canarySubsetName: "canary", stableSubsetName: "stable")
    static let serviceResolver = json(
        """
        apiVersion: consul.hashicorp.com/v1alpha1
        kind: ServiceResolver
        metadata: {name: web, namespace: default}
        spec:
          defaultSubset: stable
          subsets:
            stable: {filter: Service.Meta.version == 1}
            canary: {filter: ""}
        """)
    static let serviceSplitter = json(
        """
        apiVersion: consul.hashicorp.com/v1alpha1
        kind: ServiceSplitter
        metadata: {name: web, namespace: default}
        spec:
          splits:
          - {weight: 100, serviceSubset: stable}
          - {weight: 0, serviceSubset: canary}
        """)

    static func consulSplit(weight: Int = 10, maxWeight: Int? = nil, aborted: Bool = false, complete: Bool = false)
        -> TrafficSplit
    {
        var split = Self.split(weight: weight, maxWeight: maxWeight)
        split.canaryServiceMeta = "2"
        split.aborted = aborted
        split.stableHash = "aaa"
        split.canaryHash = complete ? "aaa" : "bbb"
        return split
    }

    @Test func consulSplitterWeights() throws {
        func weights(_ split: TrafficSplit) throws -> [JSONValue?] {
            try ConsulSubsets.splitter(Self.serviceSplitter, config: Self.consulConfig, split: split)[
                path: "spec", "splits"]!.elements.map { $0["weight"] }
        }
        #expect(try weights(Self.consulSplit()) == [90, 10])
        // Consul's weights are percentages, fractions allowed (float32, as the plugin's).
        #expect(try weights(Self.consulSplit(weight: 1, maxWeight: 3)) == [.double(Double(Float(200.0 / 3))), .double(Double(Float(100.0 / 3)))])
        var broken = Self.serviceSplitter
        broken[path: "spec", "splits"] = Self.json("[{weight: 100, serviceSubset: stable}]")
        #expect(throws: TrafficObjectError("unexpected number of service splits. Expected 2, found 1")) {
            try ConsulSubsets.splitter(broken, config: Self.consulConfig, split: Self.consulSplit())
        }
        broken[path: "spec", "splits"] = Self.json("[{weight: 100, serviceSubset: stable}, {weight: 0, serviceSubset: v2}]")
        #expect(throws: TrafficObjectError("unexpected service split")) {
            try ConsulSubsets.splitter(broken, config: Self.consulConfig, split: Self.consulSplit())
        }
        broken[path: "spec", "splits"] = nil
        #expect(throws: TrafficObjectError("spec.splits was not found in consul service splitter")) {
            try ConsulSubsets.splitter(broken, config: Self.consulConfig, split: Self.consulSplit())
        }
    }

    @Test func consulResolverFiltersFollowTheRollout() throws {
        func filters(_ split: TrafficSplit) throws -> [String?] {
            let resolver = try ConsulSubsets.resolver(Self.serviceResolver, config: Self.consulConfig, split: split)
            return ["stable", "canary"].map { resolver[path: "spec", "subsets", $0, "filter"]?.stringValue }
        }
        #expect(try filters(Self.consulSplit()) == ["Service.Meta.version == 1", "Service.Meta.version == 2"])
        #expect(try filters(Self.consulSplit(weight: 0, aborted: true)) == ["Service.Meta.version == 1", ""])
        #expect(try filters(Self.consulSplit(weight: 0, complete: true)) == ["Service.Meta.version == 2", ""])
        var config = Self.consulConfig
        config.serviceMetaAnnotationSuffix = "release"
        let resolver = try ConsulSubsets.resolver(Self.serviceResolver, config: config, split: Self.consulSplit())
        #expect(resolver[path: "spec", "subsets", "canary", "filter"] == "Service.Meta.release == 2")
        config.canarySubsetName = "preview"
        #expect(throws: TrafficObjectError("spec.subsets.preview.filter was not found in consul service resolver: web")) {
            try ConsulSubsets.resolver(Self.serviceResolver, config: config, split: Self.consulSplit())
        }
    }

    @Test func consulWaitsUntilTheObjectsAreSynced() throws {
        var resolver = Self.serviceResolver
        resolver["status"] = Self.json(
            "{lastSyncedTime: '2026-12-05T10:00:01Z', conditions: [{type: Synced, status: 'True', lastTransitionTime: '2026-12-05T10:00:00Z'}]}")
        #expect(throws: Never.self) { try ConsulSubsets.synced(resolver, kind: "resolver") }
        resolver[path: "status", "lastSyncedTime"] = "2026-12-05T10:00:05Z"
        #expect(throws: TrafficObjectError(
            "service resolver has not synced with Consul. The service resolver needs to be up to date before rollout can continue")) {
            try ConsulSubsets.synced(resolver, kind: "resolver")
        }
        resolver["status"] = Self.json("{conditions: [{type: Synced, status: 'False'}]}")
        #expect(throws: TrafficObjectError.self) { try ConsulSubsets.synced(resolver, kind: "resolver") }
    }

    // MARK: Gloo Platform

    static let glooPlatformTable = json(
        """
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: default, namespace: gloo-mesh, labels: {app: demo}}
        spec:
          hosts: ['*']
          http:
          - name: sanity
            matchers: [{uri: {prefix: /sanity}}]
            directResponse: {status: 200, body: ok}
          - name: demo
            labels: {route: demo}
            matchers: [{uri: {prefix: /demo}}, {uri: {prefix: /v2/demo}}]
            forwardTo:
              pathRewrite: /
              destinations:
              - {ref: {name: WEB-STABLE, namespace: shop}, port: {number: 8080}, kind: SERVICE}
          - name: assets
            labels: {route: assets}
            forwardTo:
              destinations:
              - {ref: {name: web-stable, namespace: shop}, port: {number: 8080}, kind: SERVICE, weight: 100}
              - {ref: {name: web-canary, namespace: shop}, port: {number: 8080}, kind: SERVICE, weight: 0}
        """)

    static func glooDestinations(_ table: JSONValue, _ route: String) -> [JSONValue] {
        let routes = table[path: "spec", "http"]?.arrayValue ?? []
        return routes.first { $0["name"]?.stringValue == route }?[path: "forwardTo", "destinations"]?.arrayValue ?? []
    }

    @Test func glooPlatformWeights() throws {
        let config = GlooPlatformTrafficRouting(routeTableSelector: .init(labels: ["app": "demo"]))
        let (at10, matched) = GlooPlatformRoutes.desired(table: Self.glooPlatformTable, config: config, split: Self.split())
        #expect(matched == 2)
        // A route without the canary gets a copy of the stable destination (names compare without case).
        #expect(
            Self.glooDestinations(at10, "demo")
                == Self.json(
                    """
                    - {ref: {name: WEB-STABLE, namespace: shop}, port: {number: 8080}, kind: SERVICE, weight: 90}
                    - {ref: {name: web-canary, namespace: shop}, port: {number: 8080}, kind: SERVICE, weight: 10}
                    """
                ).arrayValue)
        #expect(Self.glooDestinations(at10, "assets").map { $0["weight"] } == [90, 10])
        #expect(at10[path: "spec", "http"]?.arrayValue?[0] == Self.glooPlatformTable[path: "spec", "http"]?.arrayValue?[0])
        // Back at 0 the user's canary destination is at 0 again.
        let (at0, _) = GlooPlatformRoutes.desired(table: at10, config: config, split: Self.split(weight: 0))
        #expect(Self.glooDestinations(at0, "assets") == Self.glooDestinations(Self.glooPlatformTable, "assets"))
        let (perMille, _) = GlooPlatformRoutes.desired(
            table: Self.glooPlatformTable, config: config, split: Self.split(weight: 250, maxWeight: 1000))
        #expect(Self.glooDestinations(perMille, "assets").map { $0["weight"] } == [750, 250])
    }

    @Test(arguments: [
        (GlooPlatformTrafficRouting.RouteSelector(name: "ASSETS"), ["assets"]),
        (GlooPlatformTrafficRouting.RouteSelector(labels: ["route": "Demo"]), ["demo"]),
        // Every label must be on the route: the plugin let a route without the label through.
        (GlooPlatformTrafficRouting.RouteSelector(labels: ["route": "demo", "tier": "web"]), []),
        (GlooPlatformTrafficRouting.RouteSelector(name: "sanity"), []),
    ])
    func glooPlatformRouteSelector(selector: GlooPlatformTrafficRouting.RouteSelector, split: [String]) {
        let config = GlooPlatformTrafficRouting(routeTableSelector: .init(name: "default"), routeSelector: selector)
        let (table, matched) = GlooPlatformRoutes.desired(table: Self.glooPlatformTable, config: config, split: Self.split())
        #expect(matched == split.count)
        for route in ["demo", "assets"] {
            let weights = Self.glooDestinations(table, route).map { $0["weight"] }
            let unchanged = Self.glooDestinations(Self.glooPlatformTable, route).map { $0["weight"] }
            #expect(weights == (split.contains(route) ? [90, 10] : unchanged), "\(route)")
        }
    }

    @Test func glooPlatformHeaderRoutes() throws {
        let config = GlooPlatformTrafficRouting(
            routeTableSelector: .init(name: "default"), routeSelector: .init(name: "demo"))
        let prefix = SetHeaderRoute(
            name: "by-prefix", match: [HeaderRoutingMatch(headerName: "user", headerValue: StringMatch(prefix: "qa.1+"))])
        let split = Self.split(headers: [Self.header, prefix], managed: ["header", "by-prefix"])
        let (table, _) = GlooPlatformRoutes.desired(table: Self.glooPlatformTable, config: config, split: split)
        let routes = try #require(table[path: "spec", "http"]?.arrayValue)
        // The last step's header route first, as the plugin prepends each; the headers join each of
        // the route's matchers, and the copy keeps the route's forwardTo settings.
        #expect(routes.map { $0["name"]?.stringValue } == ["by-prefix", "header", "sanity", "demo", "assets"])
        #expect(
            routes[1]
                == Self.json(
                    """
                    name: header
                    labels: {route: demo}
                    matchers:
                    - {uri: {prefix: /demo}, headers: [{name: X-Canary, value: "yes"}]}
                    - {uri: {prefix: /v2/demo}, headers: [{name: X-Canary, value: "yes"}]}
                    forwardTo:
                      pathRewrite: /
                      destinations: [{ref: {name: web-canary, namespace: shop}, port: {number: 8080}, kind: SERVICE}]
                    """))
        #expect(
            routes[0][path: "matchers"]?.arrayValue?[0]["headers"]
                == Self.json(#"[{name: user, value: '^qa\.1\+', regex: true}]"#))
        // Written once however often it is reconciled; gone once the steps no longer hold it.
        let (again, _) = GlooPlatformRoutes.desired(table: table, config: config, split: split)
        #expect(again == table)
        let (done, _) = GlooPlatformRoutes.desired(
            table: table, config: config, split: Self.split(weight: 0, managed: ["header", "by-prefix"]))
        #expect(done[path: "spec", "http"]?.arrayValue?.map { $0["name"]?.stringValue } == ["sanity", "demo", "assets"])
        // A route without matchers gets one matcher of the headers.
        let bare = Self.json(
            "{metadata: {name: t}, spec: {http: [{name: all, forwardTo: {destinations: [{ref: {name: web-stable}}]}}]}}")
        let (withHeader, _) = GlooPlatformRoutes.desired(
            table: bare, config: GlooPlatformTrafficRouting(routeTableSelector: .init(name: "t")), split: split)
        #expect(
            withHeader[path: "spec", "http"]?.arrayValue?[1]["matchers"]
                == Self.json(#"[{name: header-matcher, headers: [{name: X-Canary, value: "yes"}]}]"#))
    }

    @Test func glooPlatformRefusals() {
        let byName = GlooPlatformTrafficRouting(routeTableSelector: .init(name: "default"), routeSelector: .init(name: "sanity"))
        #expect(throws: TrafficObjectError(
            #"RouteTable gloo-mesh/default has no HTTP route whose forwardTo names the stable Service "web-stable" among the "#
                + "routes routeSelector selects; add a destination with ref.name: web-stable to the route that carries the traffic")) {
            try GlooPlatformRoutes.desired(tables: [Self.glooPlatformTable], config: byName, split: Self.split(), namespace: "gloo-mesh")
        }
        let byLabels = GlooPlatformTrafficRouting(routeTableSelector: .init(labels: ["app": "demo", "tier": "web"]))
        #expect(throws: TrafficObjectError(
            "no RouteTable in namespace shop with the labels app=demo,tier=web; give the RouteTable that routes to the "
                + "stable Service those labels, or name it in routeTableSelector.name (and namespace)")) {
            try GlooPlatformRoutes.desired(tables: [], config: byLabels, split: Self.split(), namespace: "shop")
        }
        #expect(throws: TrafficObjectError(
            #"the RouteTables of namespace shop with the labels app=demo have no HTTP route whose forwardTo names the "#
                + #"stable Service "web-stable"; add a destination with ref.name: web-stable to the route that carries "#
                + "the traffic")) {
            let sanity = Self.json("{metadata: {name: s}, spec: {http: [{name: sanity, directResponse: {status: 200}}]}}")
            try GlooPlatformRoutes.desired(
                tables: [sanity], config: .init(routeTableSelector: .init(labels: ["app": "demo"])), split: Self.split(),
                namespace: "shop")
        }
        #expect(GlooPlatformRoutes.quoteMeta(#"a.b*c\d"#) == #"a\.b\*c\\d"#)
    }

    // MARK: ALB weights against AWS

    @Test func albTargetGroupsAgainstTheSplit() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
        let balancer = ElasticLoadBalancer(
            name: "k8s-web", arn: "\(arn):loadbalancer/app/k8s-web/50dc6c495c0c9188", dnsName: "k8s-web.elb.amazonaws.com")
        func group(_ service: String, _ weight: Int?, tag: String? = nil) -> ElasticTargetGroup {
            ElasticTargetGroup(
                name: "tg-\(service)", arn: "\(arn):targetgroup/tg-\(service)/73e2d6bc24d8a067",
                tags: ["ingress.k8s.aws/resource": tag ?? "default/web-\(service):80"], weight: weight)
        }
        var split = Self.split()
        split.additionalBackends = [AdditionalBackend(service: "exp-a", weight: 5)]
        let reading = ALBVerification.read(
            loadBalancer: balancer,
            targetGroups: [group("web-stable", 85), group("web-canary", 10), group("exp-a", 0), group("other", 100)],
            ingress: "web", split: split, port: 80, tagKey: "ingress.k8s.aws/resource")
        // Argo's full names: the ARN's path after the resource type (and, for a load balancer, its kind).
        #expect(
            reading.status
                == ALBStatus(
                    loadBalancer: .init(
                        name: "k8s-web", arn: balancer.arn, fullName: "k8s-web/50dc6c495c0c9188"),
                    canaryTargetGroup: .init(
                        name: "tg-web-canary", arn: "\(arn):targetgroup/tg-web-canary/73e2d6bc24d8a067",
                        fullName: "tg-web-canary/73e2d6bc24d8a067"),
                    stableTargetGroup: .init(
                        name: "tg-web-stable", arn: "\(arn):targetgroup/tg-web-stable/73e2d6bc24d8a067",
                        fullName: "tg-web-stable/73e2d6bc24d8a067"),
                    ingress: "web"))
        // The canary's weight is in place, the experiment template's is not.
        #expect(reading.verified == 1)
        #expect(
            reading.events.map(\.message) == [
                "Service web-canary (TargetGroup \(arn):targetgroup/tg-web-canary/73e2d6bc24d8a067) verified: canary "
                    + "weight 10 set",
                "Service exp-a (TargetGroup \(arn):targetgroup/tg-exp-a/73e2d6bc24d8a067) not verified: canary weight 5 "
                    + "not yet set (current: 0)",
            ])
        #expect(reading.events.map(\.warning) == [false, true])
        // Another tag key, or a target group no rule forwards to, verifies nothing.
        let untagged = ALBVerification.read(
            loadBalancer: balancer, targetGroups: [group("web-canary", 10), group("web-stable", nil)], ingress: "web",
            split: Self.split(), port: 80, tagKey: "elbv2.k8s.aws/resource")
        #expect(untagged.verified == 0)
        #expect(untagged.status.canaryTargetGroup == .init())
        #expect(
            ALBVerification.hostnames(Self.json("{status: {loadBalancer: {ingress: [{hostname: a.elb}, {ip: 10.0.0.1}]}}}"))
                == ["a.elb"])
        #expect(ALBVerification.fullName("arn:x", dropping: 1) == "")
    }
}
