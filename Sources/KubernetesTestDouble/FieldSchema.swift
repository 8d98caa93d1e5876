import Foundation

/// The shape of the built-in kinds the double models, enough to find unknown fields (as the
/// real server's strict decoding does) and values of the wrong JSON type.
indirect enum FieldSchema: Sendable {
    /// A Go struct: only these fields are known. `goType` names it in decode errors.
    case object(goType: String, fields: [String: FieldSchema])
    /// A `map[string]T`.
    case map(FieldSchema)
    case array(FieldSchema)
    case string
    case integer(goType: String)
    case boolean
    /// Not modelled: any value is accepted and nothing below it is checked.
    case any

    static let objectMeta: FieldSchema = .object(
        goType: "ObjectMeta",
        fields: [
            "name": .string, "generateName": .string, "namespace": .string, "selfLink": .string, "uid": .string,
            "resourceVersion": .string, "generation": .integer(goType: "int64"), "creationTimestamp": .any,
            "deletionTimestamp": .any, "deletionGracePeriodSeconds": .integer(goType: "int64"),
            "labels": .map(.string), "annotations": .map(.string), "ownerReferences": .array(.any),
            "finalizers": .array(.string), "managedFields": .array(.any),
        ])

    static let container: FieldSchema = .object(
        goType: "Container",
        fields: Dictionary(
            uniqueKeysWithValues: [
                "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "name",
                "ports", "readinessProbe", "resizePolicy", "resources", "restartPolicy", "securityContext",
                "startupProbe", "stdin", "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty",
                "volumeDevices", "volumeMounts", "workingDir",
            ].map { ($0, FieldSchema.any) }
        ).merging(["name": .string, "image": .string, "args": .array(.string), "command": .array(.string)]) { $1 })

    static let podSpec: FieldSchema = .object(
        goType: "PodSpec",
        fields: Dictionary(
            uniqueKeysWithValues: [
                "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy",
                "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID",
                "hostUsers", "hostname", "imagePullSecrets", "nodeName", "nodeSelector", "os", "overhead",
                "preemptionPolicy", "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
                "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
                "serviceAccount", "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
                "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints", "volumes",
            ].map { ($0, FieldSchema.any) }
        ).merging(["containers": .array(container), "initContainers": .array(container)]) { $1 })

    static let podTemplate: FieldSchema = .object(
        goType: "PodTemplateSpec", fields: ["metadata": objectMeta, "spec": podSpec])

    static let servicePort: FieldSchema = .object(
        goType: "ServicePort",
        fields: [
            "appProtocol": .string, "name": .string, "nodePort": .integer(goType: "int32"),
            "port": .integer(goType: "int32"), "protocol": .string, "targetPort": .any,
        ])

    static func top(_ kind: String, _ fields: [String: FieldSchema]) -> FieldSchema {
        .object(
            goType: kind,
            fields: fields.merging(["apiVersion": .string, "kind": .string, "metadata": objectMeta]) { $1 })
    }

    /// The schema of a built-in resource, or nil for one not modelled.
    static func builtIn(_ type: ResourceType) -> FieldSchema? {
        switch (type.group, type.resource) {
        case ("", "namespaces"):
            return top("Namespace", ["spec": .any, "status": .any])
        case ("", "pods"):
            return top("Pod", ["spec": podSpec, "status": .any])
        case ("", "services"):
            let spec: FieldSchema = .object(
                goType: "ServiceSpec",
                fields: Dictionary(
                    uniqueKeysWithValues: [
                        "allocateLoadBalancerNodePorts", "clusterIP", "clusterIPs", "externalIPs", "externalName",
                        "externalTrafficPolicy", "healthCheckNodePort", "internalTrafficPolicy", "ipFamilies",
                        "ipFamilyPolicy", "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges",
                        "publishNotReadyAddresses", "sessionAffinity", "sessionAffinityConfig", "trafficDistribution",
                    ].map { ($0, FieldSchema.any) }
                ).merging(["ports": .array(servicePort), "selector": .map(.string), "type": .string]) { $1 })
            return top("Service", ["spec": spec, "status": .any])
        case ("", "podtemplates"):
            return top("PodTemplate", ["template": podTemplate])
        case ("", "configmaps"):
            return top("ConfigMap", ["data": .map(.string), "binaryData": .map(.string), "immutable": .boolean])
        case ("", "secrets"):
            return top(
                "Secret",
                ["data": .map(.string), "stringData": .map(.string), "immutable": .boolean, "type": .string])
        case ("", "events"):
            var fields: [String: FieldSchema] = [:]
            for field in [
                "action", "eventTime", "firstTimestamp", "involvedObject", "lastTimestamp", "message", "reason",
                "related", "reportingComponent", "reportingInstance", "series", "source", "type",
            ] { fields[field] = .any }
            fields["count"] = .integer(goType: "int32")
            return top("Event", fields)
        case ("apps", "replicasets"):
            let spec: FieldSchema = .object(
                goType: "ReplicaSetSpec",
                fields: [
                    "replicas": .integer(goType: "int32"), "minReadySeconds": .integer(goType: "int32"),
                    "selector": .any, "template": podTemplate,
                ])
            return top("ReplicaSet", ["spec": spec, "status": .any])
        case ("batch", "jobs"):
            var fields: [String: FieldSchema] = ["template": podTemplate, "selector": .any, "suspend": .boolean]
            for field in [
                "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "completions", "parallelism",
                "backoffLimitPerIndex", "maxFailedIndexes",
            ] { fields[field] = .integer(goType: field == "activeDeadlineSeconds" ? "int64" : "int32") }
            for field in ["completionMode", "podFailurePolicy", "podReplacementPolicy", "manualSelector", "successPolicy"] {
                fields[field] = .any
            }
            return top("Job", ["spec": .object(goType: "JobSpec", fields: fields), "status": .any])
        case ("networking.k8s.io", "ingresses"):
            // The rules, TLS and backends as objects a controller copies; their insides are not checked.
            let spec: FieldSchema = .object(
                goType: "IngressSpec",
                fields: ["ingressClassName": .string, "defaultBackend": .any, "rules": .array(.any), "tls": .array(.any)])
            return top("Ingress", ["spec": spec, "status": .any])
        case ("apps", "deployments"):
            let spec: FieldSchema = .object(
                goType: "DeploymentSpec",
                fields: [
                    "replicas": .integer(goType: "int32"), "minReadySeconds": .integer(goType: "int32"),
                    "selector": .any, "template": podTemplate, "strategy": .any, "paused": .boolean,
                    "revisionHistoryLimit": .integer(goType: "int32"),
                    "progressDeadlineSeconds": .integer(goType: "int32"),
                ])
            return top("Deployment", ["spec": spec, "status": .any])
        case ("coordination.k8s.io", "leases"):
            let spec: FieldSchema = .object(
                goType: "LeaseSpec",
                fields: [
                    "holderIdentity": .string, "leaseDurationSeconds": .integer(goType: "int32"),
                    "acquireTime": .any, "renewTime": .any, "leaseTransitions": .integer(goType: "int32"),
                    "strategy": .string, "preferredHolder": .string,
                ])
            return top("Lease", ["spec": spec])
        case ("apiextensions.k8s.io", "customresourcedefinitions"):
            return top("CustomResourceDefinition", ["spec": .any, "status": .any])
        default:
            return nil
        }
    }
}
