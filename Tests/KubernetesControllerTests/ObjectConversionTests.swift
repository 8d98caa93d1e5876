import AviaryJSON
import AviaryKubernetes
import Foundation
import Testing

@testable import AviaryKubernetesPlatform

/// How the Kubernetes platform reads Argo's objects back: what it wrote must read as what the
/// reconciler set, or every reconcile would write it again.
@Suite struct ObjectConversionTests {
    @Test func replicaSetReadsHashOwnerAnnotationsAndRoleLabels() throws {
        let object = try KubernetesObject(
            json: JSONValue(
                parsing: Data(
                    #"""
                    {"apiVersion":"apps/v1","kind":"ReplicaSet",
                     "metadata":{"name":"web-7c9f","namespace":"shop","creationTimestamp":"2026-12-02T06:00:00Z",
                       "labels":{"app":"web","rollouts-pod-template-hash":"7c9f"},
                       "annotations":{"rollout.argoproj.io/revision":"3","scale-down-deadline":"2026-12-02T06:10:30Z",
                         "rollout.argoproj.io/ephemeral-metadata":"{\"labels\":{\"role\":\"canary\"}}"},
                       "ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web","uid":"u1","controller":true}]},
                     "spec":{"replicas":2,"minReadySeconds":5,
                       "template":{"metadata":{"labels":{"app":"web","rollouts-pod-template-hash":"7c9f","role":"canary"}},
                         "spec":{"containers":[{"name":"web","image":"web:v2"}]}}},
                     "status":{"replicas":2,"readyReplicas":1,"availableReplicas":1}}
                    """#.utf8)))
        let replicaSet = KubernetesPlatform.replicaSet(object)
        #expect(replicaSet.name == "web-7c9f")
        #expect(replicaSet.namespace == "shop")
        #expect(replicaSet.rollout == "web")
        #expect(replicaSet.podTemplateHash == "7c9f")
        #expect(replicaSet.revision == 3)
        #expect(replicaSet.replicas == 2)
        #expect(replicaSet.minReadySeconds == 5)
        #expect(replicaSet.roleLabels == ["role": "canary"])
        #expect(replicaSet.labels == ["app": "web", "rollouts-pod-template-hash": "7c9f"])
        #expect(replicaSet.scaleDownDeadline == Date(timeIntervalSince1970: 1_796_191_830))
        let counts = KubernetesPlatform.counts(object)
        #expect(counts.replicas == 2 && counts.ready == 1 && counts.available == 1)
    }

    @Test(arguments: [
        (#""10""#, 10), ("10", 10), (#""0""#, 0), ("100", 100),
    ])
    func trafficSplitWeightsAreQuantitiesOrIntegers(weight: String, expected: Int) throws {
        let object = try KubernetesObject(
            json: JSONValue(
                parsing: Data(
                    #"""
                    {"apiVersion":"split.smi-spec.io/v1alpha1","kind":"TrafficSplit",
                     "metadata":{"name":"web","namespace":"shop",
                       "ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"web","uid":"u1"}]},
                     "spec":{"service":"web-root","backends":[{"service":"web-canary","weight":\#(weight)},
                       {"service":"web-stable","weight":90}]}}
                    """#.utf8)))
        let split = try #require(KubernetesPlatform.split(object))
        #expect(split.rootService == "web-root")
        #expect(split.canaryService == "web-canary")
        #expect(split.stableService == "web-stable")
        #expect(split.canaryWeight == expected)
        #expect(split.rollout == "web")
    }

    @Test(arguments: [
        (nil as String?, "!argo-rollouts.argoproj.io/controller-instance"),
        ("blue", "argo-rollouts.argoproj.io/controller-instance=blue"),
    ])
    func instanceSelectorIsArgos(instanceID: String?, selector: String) {
        #expect(ArgoNames.instanceSelector(instanceID) == selector)
    }
}
