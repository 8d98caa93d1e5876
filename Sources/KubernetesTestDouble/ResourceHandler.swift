import AviaryJSON
import Foundation

/// The verbs on one resource: get, list, watch, create, update, patch, delete, deletecollection.
struct ResourceHandler {
    let server: APIServer
    let request: APIRequest
    let type: ResourceType
    let namespace: String?

    private var cluster: Cluster { server.cluster }

    func handle(name: String?, subresource: String?) throws(StatusError) -> APIResponse {
        switch (request.method, name) {
        case ("GET", nil):
            return request.flag("watch") == true ? try watch() : try list()
        case ("GET", let name?):
            let object = try cluster.state.withLock { state throws(StatusError) in
                try state.get(type, namespace: namespace, name: name)
            }
            return .json(object)
        case ("POST", nil):
            let body = try parseBody()
            let options = try writeOptions()
            let result = try cluster.state.withLock { state throws(StatusError) in
                try state.create(type, namespace: namespace, body: body, options: options)
            }
            return answer(result, status: 201)
        case ("PUT", let name?):
            let body = try parseBody()
            let options = try writeOptions()
            let result = try cluster.state.withLock { state throws(StatusError) in
                try state.update(type, namespace: namespace, name: name, body: body, subresource: subresource,
                    options: options)
            }
            return answer(result, status: 200)
        case ("PATCH", let name?):
            let options = try writeOptions()
            let contentType = request.header("Content-Type") ?? ""
            let force = request.flag("force") == true
            let body = request.body
            let result = try cluster.state.withLock { state throws(StatusError) in
                try state.patch(type, namespace: namespace, name: name, patch: body, contentType: contentType,
                    subresource: subresource, options: options, force: force)
            }
            return answer(result, status: result.isCreated ? 201 : 200)
        case ("DELETE", let name?):
            var options = try writeOptions()
            options.propagationPolicy = try propagationPolicy()
            let object = try cluster.state.withLock { state throws(StatusError) in
                try state.delete(type, namespace: namespace, name: name, options: options)
            }
            return .json(object)
        case ("DELETE", nil):
            return try deleteCollection()
        default:
            throw StatusError.methodNotAllowed()
        }
    }

    private func answer(_ result: WriteResult, status: Int) -> APIResponse {
        let warnings = result.warnings.map { ("Warning", "299 - \"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"") }
        return .json(result.object, status: status, headers: warnings)
    }

    private func parseBody() throws(StatusError) -> JSONValue {
        let contentType = request.header("Content-Type") ?? "application/json"
        if contentType.hasPrefix("application/vnd.kubernetes.protobuf") {
            do {
                return try Protobuf.decode(request.body)
            } catch {
                throw StatusError(
                    code: 415, reason: "UnsupportedMediaType",
                    message: "the body of the request was in an unknown format - accepted media types include: "
                        + "application/json, application/yaml (\(error))")
            }
        }
        do {
            return try JSONValue.parseYAMLOrJSON(request.body)
        } catch {
            throw .badRequest(
                "couldn't get version/kind; json parse error: \(ClusterState.describe(error))")
        }
    }

    private func writeOptions() throws(StatusError) -> WriteOptions {
        var options = WriteOptions()
        if let mode = request.query["fieldValidation"], !mode.isEmpty {
            guard let parsed = FieldValidationMode(rawValue: mode) else {
                throw .badRequest(
                    "fieldValidation parameter unsupported: \(mode), valid values are: Ignore, Warn, Strict")
            }
            options.fieldValidation = parsed
        }
        if let dryRun = request.query["dryRun"], !dryRun.isEmpty {
            guard dryRun == "All" else { throw .badRequest("unsupported dry run option: \(dryRun), valid value is: All") }
            options.isDryRun = true
        }
        options.fieldManager = request.query["fieldManager"] ?? ""
        return options
    }

    private func propagationPolicy() throws(StatusError) -> String? {
        var policy = request.query["propagationPolicy"]
        if policy == nil, !request.body.isEmpty, let options = try? JSONValue(parsing: request.body) {
            policy = options["propagationPolicy"]?.stringValue
            if policy == nil, options["orphanDependents"]?.boolValue == true { policy = "Orphan" }
        }
        if request.query["orphanDependents"] == "true" { policy = "Orphan" }
        if let policy, !["Orphan", "Background", "Foreground"].contains(policy) {
            throw .badRequest("propagationPolicy: Unsupported value: \"\(policy)\": supported values: \"Foreground\", \"Background\", \"Orphan\"")
        }
        return policy
    }

    private func query() throws(StatusError) -> CollectionQuery {
        var query = CollectionQuery(namespace: namespace)
        if let selector = request.query["labelSelector"] { query.labelSelector = try LabelSelector(selector) }
        if let selector = request.query["fieldSelector"], !selector.isEmpty {
            query.fieldSelector = try FieldSelector(selector, resource: type)
        }
        return query
    }

    private func list() throws(StatusError) -> APIResponse {
        let query = try query()
        let limit = request.query["limit"].flatMap { Int($0) }
        let token = request.query["continue"]
        let list = try cluster.state.withLock { state throws(StatusError) in
            try state.list(type, query: query, limit: limit, continueToken: token)
        }
        return .json(list)
    }

    private func watch() throws(StatusError) -> APIResponse {
        let query = try query()
        let type = type
        let cluster = cluster
        let resourceVersion = request.query["resourceVersion"]
        let sendInitialEvents = request.flag("sendInitialEvents")
        let allowBookmarks = request.flag("allowWatchBookmarks") == true
        let timeout = request.query["timeoutSeconds"].flatMap { Int($0) }.map { Duration.seconds($0) }
        return .watch(
            WatchStream(
                start: { sink in
                    cluster.state.withLock { state in
                        state.watch(
                            type, query: query, resourceVersion: resourceVersion,
                            sendInitialEvents: sendInitialEvents, allowBookmarks: allowBookmarks, sink: sink)
                    }
                },
                timeout: timeout, sendsBookmarks: allowBookmarks))
    }

    private func deleteCollection() throws(StatusError) -> APIResponse {
        let query = try query()
        var options = try writeOptions()
        options.propagationPolicy = try propagationPolicy()
        let type = type
        let deleted = try cluster.state.withLock { state throws(StatusError) -> JSONValue in
            let list = try state.list(type, query: query, limit: nil, continueToken: nil)
            var items: [JSONValue] = []
            for item in list["items"]?.arrayValue ?? [] {
                let name = item[path: ["metadata", "name"]]?.stringValue ?? ""
                let itemNamespace = item[path: ["metadata", "namespace"]]?.stringValue
                if let object = try? state.delete(type, namespace: itemNamespace, name: name, options: options) {
                    items.append(object)
                }
            }
            var result = list
            result["items"] = .array(items)
            return result
        }
        return .json(deleted)
    }
}
