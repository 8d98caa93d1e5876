/// The manifests of the reliability runs: the sample app as a canary with two analysis steps,
/// made to decide within seconds (Prometheus scrapes every second; the analysis measures after
/// 5 s, then every 2 s, three times).
enum ReliabilityManifests {
    /// The template's name.
    static let templateName = "reliability-success-rate"

    /// The success rate of an app's canary pods, from the sample app's `response_status` counters.
    static func template(prometheus address: String) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: \(templateName)
        spec:
          args:
          - name: app
          metrics:
          - name: success-rate
            initialDelay: 5s
            interval: 2s
            count: 3
            failureLimit: 0
            successCondition: result[0] >= 0.95
            provider:
              prometheus:
                address: \(address)
                query: sum(response_status{app="{{args.app}}",role="canary",status=~"2.*"})/sum(response_status{app="{{args.app}}",role="canary"})
        """
    }

    /// The app's Rollout (2 pods; steps 20%, analysis, 50%, analysis; SMI on its root Service)
    /// and its root, stable and canary Services.
    static func rollout(_ app: ReliabilityApp, image: String) -> String {
        let name = app.name
        return """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: \(name)
            spec:
              replicas: 2
              revisionHistoryLimit: 2
              selector:
                matchLabels:
                  app: \(name)
              template:
                metadata:
                  labels:
                    app: \(name)
                spec:
                  containers:
                  - name: \(ReliabilityApp.container)
                    image: \(image)
                    command: [aviary-sample-app]
                    ports:
                    - name: http
                      containerPort: 8080
                    readinessProbe:
                      httpGet:
                        path: /healthz
                        port: http
                      periodSeconds: 1
              strategy:
                canary:
                  canaryService: \(name)-canary
                  stableService: \(name)-stable
                  scaleDownDelaySeconds: 2
                  abortScaleDownDelaySeconds: 2
                  canaryMetadata:
                    labels:
                      role: canary
                  stableMetadata:
                    labels:
                      role: stable
                  trafficRouting:
                    smi:
                      rootService: \(name)
                  steps:
                  - setWeight: 20
                  - analysis:
                      templates:
                      - templateName: \(templateName)
                      args:
                      - name: app
                        value: \(name)
                  - setWeight: 50
                  - analysis:
                      templates:
                      - templateName: \(templateName)
                      args:
                      - name: app
                        value: \(name)
            ---
            \(service(name, port: app.rootPort))
            ---
            \(service(name + "-stable", port: app.stablePort, app: name))
            ---
            \(service(name + "-canary", port: app.canaryPort, app: name))
            """
    }

    private static func service(_ name: String, port: Int, app: String? = nil) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(name)
        spec:
          selector:
            app: \(app ?? name)
          ports:
          - name: http
            port: \(port)
            targetPort: http
        """
    }
}
