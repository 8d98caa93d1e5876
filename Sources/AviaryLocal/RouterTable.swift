import Foundation

/// The routing plan in the format of the router's admin API (`PUT /table`): services with
/// their endpoints, listeners with ordered routes (match, weighted backends, mirror).
public enum RouterTable {
    /// The plan as the JSON body of `PUT /table`.
    public static func json(_ plan: RoutingPlan) -> Data {
        let object = self.object(plan)
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// The plan as a JSON object.
    public static func object(_ plan: RoutingPlan) -> [String: Any] {
        let services = plan.endpoints.mapValues { ["endpoints": $0] }
        let listeners: [[String: Any]] = plan.listeners.map { listener in
            let routes: [[String: Any]] = listener.routes.map { route in
                var object: [String: Any] = [
                    "name": route.name,
                    "backends": route.backends.map { ["service": $0.service, "weight": $0.weight] },
                ]
                var match: [String: Any] = [:]
                if let headers = route.headerMatches { match["headers"] = headers.map(header) }
                if let blocks = route.requestMatches {
                    match["anyOf"] = blocks.map { block -> [String: Any] in
                        var request: [String: Any] = [:]
                        if let method = block.method { request["method"] = [method.kind: method.value] }
                        if let path = block.path { request["path"] = [path.kind: path.value] }
                        if !block.headers.isEmpty { request["headers"] = block.headers.map(header) }
                        return request
                    }
                }
                if !match.isEmpty { object["match"] = match }
                if let mirror = route.mirror {
                    object["mirror"] = ["service": mirror.service, "percent": Double(mirror.weight)]
                }
                return object
            }
            return ["address": "\(listener.address):\(listener.port)", "routes": routes]
        }
        return ["services": services, "listeners": listeners]
    }

    private static func header(_ match: HeaderMatch) -> [String: Any] {
        ["name": match.header, match.value.kind: match.value.value]
    }
}
