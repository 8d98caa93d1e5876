import Foundation
import Testing

@testable import KubernetesTestDouble

/// How `GET /_double/requests` names a request: Kubernetes' verb and the resource.
@Suite struct AuditKeyTests {
    @Test(arguments: [
        ("GET", "/apis/argoproj.io/v1alpha1/rollouts?limit=500", "list rollouts"),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts?watch=true&resourceVersion=7", "watch rollouts"),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/web", "get rollouts"),
        ("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/web/status", "patch rollouts/status"),
        ("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/lock", "update leases"),
        ("POST", "/apis/apps/v1/namespaces/ns/replicasets", "create replicasets"),
        ("DELETE", "/apis/apps/v1/namespaces/ns/replicasets/web-abc", "delete replicasets"),
        ("DELETE", "/api/v1/namespaces/ns/pods", "deletecollection pods"),
        ("GET", "/api/v1/namespaces/ns", "get namespaces"),
        ("GET", "/api/v1/namespaces", "list namespaces"),
        ("POST", "/api/v1/namespaces/ns/events", "create events"),
        ("GET", "/api/v1", nil),
        ("GET", "/apis/apps/v1", nil),
        ("GET", "/openapi/v2", nil),
        ("GET", "/version", nil),
    ] as [(String, String, String?)])
    func aRequestIsNamedByVerbAndResource(method: String, uri: String, expected: String?) {
        let request = APIRequest(method: method, uri: uri, headers: [], body: Data())
        #expect(request.auditKey == expected)
    }
}
