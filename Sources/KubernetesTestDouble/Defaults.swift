import AviaryJSON
import Foundation

/// The defaults and initial status the real server sets on create, where clients read them
/// (a Service's cluster IP and port protocol, a namespace's phase, a pod's phase).
enum Defaults {
    /// Defaults the real server also applies on every update: a Service port's protocol and target port.
    static func applyOnWrite(_ object: inout JSONValue, type: ResourceType) {
        guard type.group.isEmpty, type.resource == "services",
            let ports = object[path: ["spec", "ports"]]?.arrayValue
        else { return }
        object[path: ["spec", "ports"]] = .array(
            ports.map { port in
                var defaulted = port
                if defaulted["protocol"] == nil { defaulted["protocol"] = .string("TCP") }
                if defaulted["targetPort"] == nil { defaulted["targetPort"] = port["port"] }
                return defaulted
            })
    }

    static func applyOnCreate(_ object: inout JSONValue, type: ResourceType, generator: inout SystemRandomNumberGenerator) {
        switch (type.group, type.resource) {
        case ("", "namespaces"):
            let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
            object[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(name)
            object["status"] = .object(["phase": .string("Active")])
        case ("", "pods"):
            object["status"] = .object(["phase": .string("Pending"), "qosClass": .string("BestEffort")])
            if object[path: ["spec", "restartPolicy"]] == nil {
                object[path: ["spec", "restartPolicy"]] = .string("Always")
            }
        case ("", "services"):
            if object[path: ["spec", "type"]] == nil { object[path: ["spec", "type"]] = .string("ClusterIP") }
            if object[path: ["spec", "sessionAffinity"]] == nil {
                object[path: ["spec", "sessionAffinity"]] = .string("None")
            }
            if object[path: ["spec", "clusterIP"]] == nil {
                let address = "10.96.\(Int.random(in: 0...255, using: &generator)).\(Int.random(in: 1...254, using: &generator))"
                object[path: ["spec", "clusterIP"]] = .string(address)
                object[path: ["spec", "clusterIPs"]] = .array([.string(address)])
            }
            applyOnWrite(&object, type: type)
            object["status"] = .object(["loadBalancer": .object([:])])
        case ("batch", "jobs"):
            // The Job controller would run it; the double only stores it (a test sets its status).
            for (field, value) in [("backoffLimit", 6), ("completions", 1), ("parallelism", 1)] as [(String, Int64)]
            where object[path: ["spec", field]] == nil {
                object[path: ["spec", field]] = .integer(value)
            }
            object["status"] = .object([:])
        case ("apps", "replicasets"), ("apps", "deployments"):
            if object[path: ["spec", "replicas"]] == nil { object[path: ["spec", "replicas"]] = .integer(1) }
            object["status"] = .object(["replicas": .integer(0)])
        default:
            break
        }
    }
}
