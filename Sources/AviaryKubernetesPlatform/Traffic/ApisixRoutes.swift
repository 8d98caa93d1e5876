import AviaryJSON
import AviaryModel
import AviaryPlatform

/// Argo's Apache APISIX routing. The weights go to the canary and stable backends
/// (`serviceName`) of the named HTTP rules (`spec.http[].name`) of the user's ApisixRoute. A
/// header route is an ApisixRoute of its own, named after the route and owned by the rollout: a
/// copy of the user's, its rules sending everything to the canary (the stable backend removed),
/// one priority above the rule copied, and matching the route's headers (`match.exprs`).
enum ApisixRoutes {
    /// The user's ApisixRoute with the split's weights (the stable side gets what the canary
    /// leaves of the total).
    static func weighted(route: JSONValue, split: TrafficSplit, config: ApisixRoute) throws -> JSONValue {
        var http = try rules(of: route)
        for name in config.rulesOrDefault {
            let index = try ruleIndex(name, in: http)
            var backends = try backends(of: http[index])
            try setWeight(of: split.canaryService, to: split.canaryWeight, in: &backends)
            try setWeight(of: split.stableService, to: split.stableWeight, in: &backends)
            http[index]["backends"] = .array(backends)
        }
        var result = route
        result[path: "spec", "http"] = .array(http)
        return result
    }

    /// The header route's ApisixRoute: made from `base` (the user's route, as the API server has
    /// it) when `existing` is nil, else `existing` with its match replaced.
    static func headerRoute(
        _ route: SetHeaderRoute, base: JSONValue, existing: JSONValue?, split: TrafficSplit, config: ApisixRoute,
        owner: JSONValue
    ) throws -> JSONValue {
        var object: JSONValue
        if let existing {
            object = existing
        } else {
            object = base
            var metadata = base["metadata"]?.objectValue ?? [:]
            for field in ["resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"] {
                metadata.removeValue(forKey: field)
            }
            metadata["name"] = .string(route.name)
            metadata["ownerReferences"] = [owner]
            object["metadata"] = .object(metadata)
            object["status"] = nil
        }
        var http = try rules(of: object)
        for name in config.rulesOrDefault {
            let index = try ruleIndex(name, in: http)
            var backends = try backends(of: http[index])
            try setWeight(of: split.canaryService, to: 100, in: &backends)
            backends.removeAll { $0["serviceName"]?.stringValue == split.stableService }
            http[index]["backends"] = .array(backends)
            if existing == nil {
                http[index]["priority"] = .integer((http[index]["priority"]?.integerValue ?? 0) + 1)
            }
            http[index][path: "match", "exprs"] = exprs(route.match ?? [])
        }
        object[path: "spec", "http"] = .array(http)
        return object
    }

    /// APISIX expressions for a route's matches: exact values `Equal`, regular expressions
    /// `RegexMatch`, a prefix as `RegexMatch` on `^PREFIX.*`.
    static func exprs(_ matches: [HeaderRoutingMatch]) -> JSONValue {
        var exprs: [JSONValue] = []
        for match in matches {
            let subject: JSONValue = ["scope": "Header", "name": .string(match.headerName)]
            let value = match.headerValue
            if let exact = value.exact, !exact.isEmpty {
                exprs.append(["subject": subject, "op": "Equal", "value": .string(exact)])
            }
            if let regex = value.regex, !regex.isEmpty {
                exprs.append(["subject": subject, "op": "RegexMatch", "value": .string(regex)])
            }
            if let prefix = value.prefix, !prefix.isEmpty {
                exprs.append(["subject": subject, "op": "RegexMatch", "value": .string("^\(prefix).*")])
            }
        }
        return .array(exprs)
    }

    private static func rules(of route: JSONValue) throws -> [JSONValue] {
        guard let http = route[path: "spec", "http"]?.arrayValue else {
            throw TrafficObjectError("spec.http was not found in Apisix Route manifest")
        }
        return http
    }

    private static func ruleIndex(_ name: String, in http: [JSONValue]) throws -> Int {
        for (index, rule) in http.enumerated() {
            guard let ruleName = rule["name"]?.stringValue else {
                throw TrafficObjectError("Apisix http route rule name field not found")
            }
            if ruleName == name { return index }
        }
        throw TrafficObjectError("Apisix http route rule \(name) not found")
    }

    private static func backends(of rule: JSONValue) throws -> [JSONValue] {
        guard let backends = rule["backends"]?.arrayValue else {
            throw TrafficObjectError("Apisix http route backends not found")
        }
        return backends
    }

    private static func setWeight(of service: String, to weight: Int, in backends: inout [JSONValue]) throws {
        for index in backends.indices {
            guard let name = backends[index]["serviceName"]?.stringValue else {
                throw TrafficObjectError("serviceName field was not found in backend")
            }
            if name == service {
                backends[index]["weight"] = .integer(Int64(weight))
                return
            }
        }
        throw TrafficObjectError("apisix route \(service) backend was not found")
    }
}
