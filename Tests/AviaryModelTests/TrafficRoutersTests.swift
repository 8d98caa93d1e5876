import AviaryModel
import Foundation
import Testing

/// Every router a rollout's `trafficRouting` names, in the order Argo's controller drives them,
/// and the one that keys the split (and makes it on one host).
struct TrafficRoutersTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var routing: String
        var providers: [String]
        var primary: String?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "one router", routing: #"{"nginx": {"stableIngress": "web"}}"#, providers: ["Nginx"], primary: "Nginx"
        ),
        Row(
            name: "ALB beside Istio: Istio keys the split, ALB comes after it in Argo's order",
            routing: #"{"alb": {"ingress": "web", "servicePort": 80}, "istio": {"virtualService": {"name": "web"}}}"#,
            providers: ["Istio", "ALB"], primary: "Istio"),
        Row(
            name: "SMI keys the split but comes after NGINX",
            routing: #"{"appMesh": {}, "smi": {}, "nginx": {"stableIngress": "web"}}"#,
            providers: ["Nginx", "SMI", "AppMesh"], primary: "SMI"),
        Row(
            name: "plugins come last, by name, those Aviary runs among them",
            routing: #"""
                {"traefik": {"weightedTraefikServiceName": "web"},
                 "plugins": {"zeta/router": {}, "argoproj-labs/contour": {"httpProxies": ["web"]}, "acme/router": {"x": 1}}}
                """#,
            providers: ["Traefik", "acme/router", "argoproj-labs/contour", "zeta/router"], primary: "Traefik"),
        Row(
            name: "a plugin Aviary runs whose configuration does not decode is left out",
            routing: #"{"plugins": {"argoproj-labs/contour": {"httpProxies": 5}, "acme/router": {}}}"#,
            providers: ["acme/router"], primary: "acme/router"),
        Row(
            name: "Ambassador before APISIX",
            routing: #"{"apisix": {"route": {"name": "web"}}, "ambassador": {"mappings": ["web"]}}"#,
            providers: ["Ambassador", "Apisix"], primary: "Ambassador"),
        Row(name: "none", routing: "{}", providers: [], primary: nil),
    ]

    @Test(arguments: rows) func theRoutersNamedInArgosOrder(_ row: Row) throws {
        let routing = try JSONDecoder().decode(RolloutTrafficRouting.self, from: Data(row.routing.utf8))
        #expect(routing.providers.map(\.name) == row.providers)
        #expect(routing.provider?.name == row.primary)
        #expect(routing.additionalProviders.map(\.name) == row.providers.filter { $0 != row.primary })
    }
}
