import AviaryTestSupport
import Foundation
import Testing

/// `aviary notifications template|trigger` in cluster mode: the ConfigMap and Secret read from the
/// API server (the controller namespace's, with the rollout namespace's laid over them), rendered
/// for the Rollout as it is there, and nothing sent.
@Suite(.serialized) struct NotificationCommandsOnClusterTests {
    static let configuration = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: aviary-system}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: argo-rollouts-notification-secret, namespace: aviary-system}
        data:
          token: \(Data("xoxb-1".utf8).base64EncodedString())
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: argo-rollouts-notification-configmap, namespace: aviary-system}
        data:
          service.slack: |
            token: $token
          template.rollout-aborted: |
            message: Rollout {{.rollout.metadata.name}} has been aborted.
          trigger.on-rollout-aborted: |
            - send: [rollout-aborted]
          defaultTriggers: |
            - on-rollout-aborted
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: argo-rollouts-notification-configmap, namespace: default}
        data:
          template.rollout-aborted: |
            message: "{{.rollout.metadata.name}} runs {{(index .rollout.spec.template.spec.containers 0).image}} and was aborted"

        """

    @Test func templatesAndTriggersAreReadFromTheClusterAndRenderedForTheRollout() async throws {
        try await withCluster { cluster in
            _ = try cluster.makePausedWeb()
            let annotated = try cluster.kubectl([
                "annotate", "rollout", "web", "notifications.argoproj.io/subscribe.slack=releases",
            ])
            #expect(annotated.status == 0, "\(annotated)")

            let missing = try cluster.aviary(["notifications", "template", "get"])
            #expect(missing.status == 1, "\(missing)")
            #expect(
                missing.stderr.contains(
                    "no ConfigMap argo-rollouts-notification-configmap in namespace default on http"),
                "\(missing)")

            let applied = try cluster.kubectl([
                "apply", "-f", try cluster.file("notifications.yaml", Self.configuration),
            ])
            #expect(applied.status == 0, "\(applied)")
            let templates = try cluster.aviary([
                "notifications", "template", "get", "--controller-namespace", "aviary-system",
            ])
            #expect(templates.status == 0, "\(templates)")
            #expect(templates.stdout.contains("rollout-aborted"), "\(templates)")
            let triggers = try cluster.aviary([
                "notifications", "trigger", "get", "--controller-namespace", "aviary-system",
            ])
            #expect(triggers.stdout.contains("on-rollout-aborted") && triggers.stdout.contains("yes"), "\(triggers)")

            // The namespace's template wins over the controller namespace's; the subscription is the annotation's.
            let run = try cluster.aviary([
                "notifications", "trigger", "run", "on-rollout-aborted", "web", "--controller-namespace",
                "aviary-system",
            ])
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("Destinations: slack:releases"), "\(run)")
            #expect(run.stdout.contains("web runs registry.example/web:green and was aborted"), "\(run)")

            let sending = try cluster.aviary([
                "notifications", "template", "notify", "rollout-aborted", "web", "--recipient", "slack:releases",
            ])
            #expect(sending.status != 0 && sending.stderr.contains("drop --recipient"), "\(sending)")
            let unknown = try cluster.aviary(["notifications", "template", "notify", "nope", "web"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no template nope: the templates are"), "\(unknown)")
        }
    }
}
