import Foundation
import Testing

@testable import AviaryKubernetes

@Suite(.serialized) struct ClientErrorTests {
    /// A server that is down: one line naming the server, the verb, the resource and the cause.
    @Test func aServerThatIsDown() async throws {
        let server = try APIServerDouble()
        let url = server.url
        server.stop()
        let client = try KubernetesClient(configuration: ClientConfiguration(server: url))
        defer { Task { [client] in try? await client.shutdown() } }
        do throws(KubernetesError) {
            _ = try await client.get(.configMaps, namespace: "default", name: "settings")
            Issue.record("a request to a stopped server must fail")
        } catch {
            #expect(
                error.description == "get configmaps \"default/settings\" on \(url): unreachable: connection refused")
        }
    }

    /// `--require-token`: a request without the token is refused with 401; with it, it succeeds.
    @Test func unauthorizedNamesServerVerbResourceAndStatus() async throws {
        let server = try APIServerDouble(arguments: ["--require-token", "s3cret"])
        defer { server.stop() }
        let anonymous = try server.client()
        defer { Task { [anonymous] in try? await anonymous.shutdown() } }
        do throws(KubernetesError) {
            _ = try await anonymous.list(.configMaps, namespace: "default")
            Issue.record("a request without the token must fail")
        } catch {
            #expect(error.code == 401)
            let message = error.description
            #expect(!message.contains("\n"))
            #expect(
                message.hasPrefix("list configmaps in namespace \"default\" on \(server.url): 401 Unauthorized"),
                "\(message)")
        }
        let authorized = try KubernetesClient(
            configuration: ClientConfiguration(server: server.url, credentials: .token("s3cret")))
        defer { Task { [authorized] in try? await authorized.shutdown() } }
        _ = try await authorized.list(.configMaps, namespace: "default")
    }

    /// The double's own kubeconfig (`--kubeconfig-out`, with a token) loads and authenticates.
    @Test func theDoublesKubeconfigWorks() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/kubeconfig"
        let server = try APIServerDouble(arguments: ["--kubeconfig-out", file, "--require-token", "t0ken"])
        defer { server.stop() }
        let configuration = try ClientConfiguration.fromKubeconfig(explicitPath: file)
        #expect(configuration.server == server.url)
        #expect(configuration.credentials == .token("t0ken"))
        let client = try KubernetesClient(configuration: configuration)
        defer { Task { [client] in try? await client.shutdown() } }
        _ = try await client.list(.configMaps, namespace: configuration.namespace)
    }

    @Test func forbiddenAndNotFoundAreTyped() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { [client] in try? await client.shutdown() } }
        try await server.injectFault(status: 403, count: 1)
        let object = try KubernetesObject(json: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"]])
        do throws(KubernetesError) {
            _ = try await client.create(.configMaps, namespace: "default", object)
            Issue.record("the injected 403 must fail the create")
        } catch {
            #expect(error.code == 403)
            #expect(
                error.description.hasPrefix("create configmaps \"default/x\" on \(server.url): 403 Forbidden"),
                "\(error)")
        }
        do throws(KubernetesError) {
            _ = try await client.get(.configMaps, namespace: "default", name: "absent")
            Issue.record("a missing object must fail")
        } catch {
            #expect(error.isNotFound)
        }
    }

    /// Create, get, update with a stale resourceVersion (409), every patch type, status and delete.
    @Test func verbsRoundTrip() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { [client] in try? await client.shutdown() } }
        let created = try await client.create(
            .configMaps, namespace: "default",
            KubernetesObject(json: [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c"], "data": ["a": "1"],
            ]))
        #expect(created.metadata.uid != nil)
        var json = created.json
        json["data"] = ["a": "2"]
        let stale = try KubernetesObject(json: json)
        let updated = try await client.update(.configMaps, namespace: "default", stale)
        do throws(KubernetesError) {
            _ = try await client.update(.configMaps, namespace: "default", stale)
            Issue.record("a stale resourceVersion must conflict")
        } catch {
            #expect(error.isConflict, "\(error)")
        }
        let merged = try await client.patch(
            .configMaps, namespace: "default", name: "c", type: .merge, body: ["data": ["b": "3"]])
        #expect(merged.json["data"] == ["a": "2", "b": "3"])
        let patched = try await client.patch(
            .configMaps, namespace: "default", name: "c", type: .json,
            body: [["op": "replace", "path": "/data/a", "value": "4"]])
        #expect(patched.json["data"]?["a"] == "4")
        let strategic = try await client.patch(
            .configMaps, namespace: "default", name: "c", type: .strategicMerge, body: ["data": ["c": "5"]])
        #expect(strategic.json["data"]?["c"] == "5")
        let applied = try await client.patch(
            .configMaps, namespace: "default", name: "applied", type: .apply,
            body: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "applied"], "data": ["x": "y"]],
            fieldManager: "aviary")
        #expect(applied.json["data"]?["x"] == "y")
        #expect(updated.metadata.resourceVersion != created.metadata.resourceVersion)
        try await client.delete(.configMaps, namespace: "default", name: "c")
        let rest = try await client.listAll(.configMaps, namespace: "default", pageSize: 1)
        #expect(rest.items.map(\.key) == ["default/applied"])
    }

    /// Pagination: 25 objects in pages of 10 come back whole and in order.
    @Test func listAllPages() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { [client] in try? await client.shutdown() } }
        for index in 0..<25 {
            _ = try await client.create(
                .configMaps, namespace: "default",
                KubernetesObject(json: [
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": ["name": .string(String(format: "p-%02d", index))],
                ]))
        }
        let page = try await client.list(.configMaps, namespace: "default", limit: 10)
        #expect(page.items.count == 10)
        #expect(!(page.metadata.continue ?? "").isEmpty)
        let all = try await client.listAll(.configMaps, namespace: "default", pageSize: 10)
        #expect(all.items.map(\.metadata.name) == (0..<25).map { String(format: "p-%02d", $0) })
    }
}
