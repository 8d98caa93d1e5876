/// Manifests shared by the model tests: one of every kind, with status where the kind has one.
enum Fixtures {
    static let seedCanary = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: sample
          labels: {app: sample}
        spec:
          replicas: 4
          revisionHistoryLimit: 3
          selector:
            matchLabels: {app: sample}
          template:
            metadata:
              labels: {app: sample}
            spec:
              containers:
              - name: sample
                image: sample-app:v1
                command: [aviary-sample-app]
                args: ["--listen", "127.0.0.1"]
                env:
                - {name: GREETING, value: hello}
                ports:
                - {name: http, containerPort: 8080}
                readinessProbe:
                  httpGet: {path: /healthz, port: http}
                  periodSeconds: 2
                resources:
                  requests: {cpu: 100m, memory: 64Mi}
          strategy:
            canary:
              canaryService: sample-canary
              stableService: sample-stable
              maxSurge: "25%"
              maxUnavailable: 0
              canaryMetadata:
                labels: {role: canary}
              stableMetadata:
                labels: {role: stable}
              trafficRouting:
                smi:
                  rootService: sample
              steps:
              - setWeight: 10
              - pause: {duration: 30s}
              - analysis:
                  templates:
                  - templateName: success-rate
                  args:
                  - name: service-name
                    value: sample
              - setWeight: 33
              - pause: {duration: 10}
              - analysis:
                  templates:
                  - templateName: success-rate
                  args:
                  - name: service-name
                    value: sample
                  - name: stable-hash
                    valueFrom:
                      podTemplateHashValue: Stable
              - pause: {}
        status:
          phase: Paused
          message: CanaryPauseStep
          currentPodHash: 6b7f9c
          stableRS: 5d4c3b
          currentStepIndex: 1
          observedGeneration: "2"
          replicas: 5
          updatedReplicas: 1
          readyReplicas: 5
          availableReplicas: 5
          pauseConditions:
          - {reason: CanaryPauseStep, startTime: "2026-11-28T10:00:00Z"}
          conditions:
          - type: Paused
            status: "True"
            reason: RolloutPaused
            lastUpdateTime: "2026-11-28T10:00:00Z"
            lastTransitionTime: "2026-11-28T10:00:00Z"
          canary:
            weights:
              canary: {weight: 10, serviceName: sample-canary, podTemplateHash: 6b7f9c}
              stable: {weight: 90, serviceName: sample-stable, podTemplateHash: 5d4c3b}
          duration:
            rolloutStartedAt: "2026-11-28T09:59:00Z"
        """

    static let successRate = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: success-rate
        spec:
          args:
          - name: service-name
          - name: prometheus-address
            value: http://127.0.0.1:9090
          metrics:
          - name: success-rate
            interval: 10s
            count: 3
            failureLimit: 1
            successCondition: result[0] >= 0.95
            provider:
              prometheus:
                address: "{{args.prometheus-address}}"
                query: |
                  sum(response_status{app="{{args.service-name}}",role="canary",status=~"2.*"})/sum(response_status{app="{{args.service-name}}",role="canary"})
        """

    static let blueGreen = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: bg
          namespace: shop
        spec:
          replicas: 2
          selector:
            matchLabels: {app: bg}
          template:
            metadata:
              labels: {app: bg}
            spec:
              containers:
              - name: bg
                image: sample-app:v1
                command: [aviary-sample-app]
          strategy:
            blueGreen:
              activeService: bg-active
              previewService: bg-preview
              autoPromotionEnabled: false
              prePromotionAnalysis:
                templates: [{templateName: success-rate}]
                args: [{name: service-name, value: bg-preview}]
              postPromotionAnalysis:
                templates: [{templateName: success-rate, clusterScope: true}]
                args: [{name: service-name, value: bg-active}]
        status:
          blueGreen:
            activeSelector: abc
            previewSelector: def
            prePromotionAnalysisRunStatus: {name: bg-def-2-pre, status: Successful}
        """

    static let clusterTemplate = """
        apiVersion: argoproj.io/v1alpha1
        kind: ClusterAnalysisTemplate
        metadata:
          name: smoke
        spec:
          metrics:
          - name: smoke
            provider:
              job:
                spec:
                  backoffLimit: 0
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - name: smoke
                        image: curl:latest
                        command: [curl, -fsS, http://127.0.0.1:8080/healthz]
          - name: web
            interval: 5s
            successCondition: result.ok == true
            provider:
              web:
                url: http://127.0.0.1:8080/status
                jsonPath: "{$.data}"
                headers: [{key: Accept, value: application/json}]
        """

    static let analysisRun = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisRun
        metadata:
          name: sample-6b7f9c-2-2
          labels: {rollout-type: Step, step-index: "2"}
        spec:
          args: [{name: service-name, value: sample}]
          metrics:
          - name: success-rate
            interval: 1m
            count: 3
            successCondition: result[0] >= 0.95
            provider:
              prometheus: {address: "http://127.0.0.1:9090", query: up}
        status:
          phase: Failed
          message: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)
          startedAt: "2026-11-28T10:00:00Z"
          runSummary: {count: 1, failed: 1}
          metricResults:
          - name: success-rate
            phase: Failed
            count: 1
            failed: 1
            measurements:
            - phase: Failed
              value: "[0.5]"
              startedAt: "2026-11-28T10:00:00Z"
              finishedAt: "2026-11-28T10:00:01Z"
        """

    static let experiment = """
        apiVersion: argoproj.io/v1alpha1
        kind: Experiment
        metadata:
          name: exp
        spec:
          duration: 1h30m
          templates:
          - name: baseline
            replicas: 1
            selector: {matchLabels: {app: exp, side: baseline}}
            template:
              metadata: {labels: {app: exp, side: baseline}}
              spec:
                containers: [{name: app, image: sample-app:v1, command: [aviary-sample-app]}]
          analyses:
          - name: rate
            templateName: success-rate
            requiredForCompletion: true
            args: [{name: service-name, value: exp}]
        status:
          phase: Running
          templateStatuses: [{name: baseline, replicas: 1, status: Running}]
          analysisRuns: [{name: rate, analysisRun: exp-rate, phase: Running}]
        """

    static let service = """
        apiVersion: v1
        kind: Service
        metadata:
          name: sample
        spec:
          selector: {app: sample}
          ports:
          - {name: http, port: 8080, targetPort: http}
        """

    static let all = [seedCanary, successRate, blueGreen, clusterTemplate, analysisRun, experiment, service]

    /// The fixtures by name, so that parameterized tests print a short argument.
    static let named: [String: String] = [
        "seedCanary": seedCanary, "successRate": successRate, "blueGreen": blueGreen,
        "clusterTemplate": clusterTemplate, "analysisRun": analysisRun, "experiment": experiment, "service": service,
    ]
}
