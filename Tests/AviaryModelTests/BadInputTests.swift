import Foundation
import Testing

@testable import AviaryModel

@Suite struct BadInputTests {
    /// The only diagnostic of decoding `data`, which must be an error.
    func onlyError(_ data: Data, file: String = "bad.yaml") throws -> Diagnostic {
        let decoded = ManifestDecoder().decode(data, file: file)
        #expect(decoded.resources.isEmpty)
        #expect(decoded.diagnostics.count == 1, "\(decoded.diagnostics)")
        let diagnostic = try #require(decoded.diagnostics.first)
        #expect(diagnostic.isError)
        return diagnostic
    }

    func onlyError(_ text: String, file: String = "bad.yaml") throws -> Diagnostic {
        try onlyError(Data(text.utf8), file: file)
    }

    @Test func brokenYAMLReportsFileLineAndColumn() throws {
        let diagnostic = try onlyError("apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n")
        #expect(diagnostic.line == 5)
        #expect(diagnostic.description.hasPrefix("bad.yaml:5:1: not valid YAML: "))
        let tab = try onlyError("a: 1\n\tb: 2\n")
        #expect(tab.description.hasPrefix("bad.yaml:2:"))
    }

    @Test func brokenJSONSaysJSON() throws {
        let diagnostic = try onlyError("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",,\n}\n", file: "bad.json")
        #expect(diagnostic.description.hasPrefix("bad.json:3:21: not valid JSON: "))
    }

    @Test func unquotedTemplateTagSaysToQuoteIt() throws {
        let diagnostic = try onlyError(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    inject: {{args.on}}\n")
        #expect(diagnostic.line == 6)
        #expect(diagnostic.message.contains("quote it, \"{{args.name}}\""))
    }

    @Test func textThatIsNotAManifest() throws {
        let diagnostic = try onlyError("just some words\n")
        #expect(
            diagnostic.description
                == "bad.yaml: document 1: expected a mapping with apiVersion, kind, metadata and spec, got a string")
    }

    @Test func binaryFileIsRefused() throws {
        var bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00]
        var state: UInt64 = 42
        for _ in 0..<4096 {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            bytes.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        let diagnostic = try onlyError(Data(bytes))
        #expect(diagnostic.message.hasPrefix("not a text file (byte 7 is NUL)"))
    }

    @Test func invalidUTF8IsRefused() throws {
        let diagnostic = try onlyError(Data([0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]))
        #expect(diagnostic.message.hasPrefix("not UTF-8 text"))
    }

    @Test(arguments: ["", "\n\n", "# only a comment\n", "---\n---\n"])
    func emptyFileSaysSo(_ text: String) throws {
        let diagnostic = try onlyError(text)
        #expect(diagnostic.message.hasPrefix("holds no manifest"))
    }

    @Test func fiftyMegabyteFileIsRefusedBeforeParsing() throws {
        let line = Data("# padding padding padding padding padding padding padding padding padding\n".utf8)
        var data = Data(capacity: 50 * 1_048_576 + line.count)
        while data.count < 50 * 1_048_576 { data.append(line) }
        let diagnostic = try onlyError(data)
        #expect(diagnostic.message.hasPrefix("file is 50.0 MB, larger than the 8.0 MB Aviary reads"))
    }

    /// Flow styles nest 10,000 deep in a few kilobytes; block styles need one more space per level,
    /// so 3,000 levels (4.5 MB) is as deep as they get under the size limit.
    static let deepDocuments: [(String, String)] = [
        ("block mappings", (0..<3_000).map { String(repeating: " ", count: $0) + "a:\n" }.joined()),
        ("flow sequences", String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)),
        ("json objects", String(repeating: "{\"a\":", count: 10_000) + "1" + String(repeating: "}", count: 10_000)),
        ("block sequences", (0..<3_000).map { String(repeating: " ", count: $0) + "-\n" }.joined()),
        ("dashes on one line", String(repeating: "- ", count: 10_000) + "x\n"),
    ]

    @Test(arguments: deepDocuments.map(\.0))
    func deepNestingIsRefusedWithoutRecursing(_ name: String) throws {
        let text = try #require(Self.deepDocuments.first { $0.0 == name }?.1)
        let diagnostic = try onlyError(text)
        #expect(diagnostic.message.hasPrefix("nested more than 64 levels deep"))
        #expect(diagnostic.line != nil)
    }

    @Test func moderatelyDeepDocumentStillDecodes() throws {
        let deep = String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40)
        let manifest =
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\nextra: \(deep)\n"
        let decoded = ManifestDecoder().decode(manifest, file: "ok.yaml")
        #expect(!decoded.hasErrors)
        #expect(decoded.diagnostics.map(\.path) == ["extra"])
    }

    @Test func aliasBombIsRefused() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        let diagnostic = try onlyError(text)
        #expect(diagnostic.message.hasPrefix("expands to too many values"))
    }

    @Test func aMisspeltArgoKindNamesTheKindsAviaryReads() throws {
        let diagnostic = try onlyError(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rolout\nmetadata: {name: web}\nspec: {}\n")
        #expect(
            diagnostic.description
                == "bad.yaml: document 1: kind: unknown kind \"Rolout\"; Aviary reads Rollout, AnalysisTemplate, "
                + "ClusterAnalysisTemplate, AnalysisRun, Experiment, Service, ConfigMap, Secret, Deployment, ReplicaSet, PodTemplate"
        )
        #expect(try onlyError("apiVersion: v1\nkind: service\nmetadata: {name: web}\n").path == "kind")
    }

    /// Core v1 PodSpec and Container fields are valid in any Argo manifest: no warning.
    @Test func theRestOfPodSpecAndContainerPassesSilently() throws {
        let text = """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  readinessGates: [{conditionType: www.example.com/ready}]
                  dnsPolicy: ClusterFirst
                  priorityClassName: high
                  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]
                  enableServiceLinks: false
                  ephemeralContainers: [{name: debug, image: busybox}]
                  containers:
                  - name: web
                    image: web:v1
                    stdin: true
                    tty: true
                    terminationMessagePolicy: FallbackToLogsOnError
                    lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
              strategy:
                canary: {steps: [{setWeight: 10}]}
            """
        let decoded = ManifestDecoder().decode(text, file: "pod.yaml")
        #expect(decoded.diagnostics.map(\.description) == [])
        #expect(decoded.resources.count == 1)
    }

    /// Teams keep Ingresses, VirtualServices and StatefulSets beside their Rollouts: skipped, said once each.
    @Test func aKindAviaryDoesNotReadIsSkippedWithAnInfoLine() throws {
        let text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec: {}\n---\n" + Fixtures.service
        let decoded = ManifestDecoder().decode(text, file: "mixed.yaml")
        #expect(decoded.resources.map(\.kind.rawValue) == ["Service"])
        #expect(!decoded.hasErrors)
        #expect(
            decoded.diagnostics.map(\.description) == [
                "mixed.yaml: StatefulSet/web: info: skipped: Aviary does not read kind StatefulSet (apps/v1); it reads "
                    + "Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment, Service, ConfigMap, "
                    + "Secret, Deployment, ReplicaSet, PodTemplate"
            ])
    }

    /// A Deployment or PodTemplate is read for the Rollouts whose workloadRef names it: its pod
    /// template is checked as a Rollout's own; its strategy and the rest are its own business.
    @Test func aDeploymentIsReadAndItsTemplateChecked() throws {
        let deployment = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 3
              strategy: {type: RollingUpdate}
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: "web:1"}]}
            """
        let decoded = ManifestDecoder().decode(deployment, file: "d.yaml")
        #expect(decoded.diagnostics.map(\.description) == [])
        #expect(decoded.resources.map(\.kind.rawValue) == ["Deployment"])
        let empty = ManifestDecoder().decode(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n", file: "d.yaml")
        #expect(
            empty.diagnostics.map(\.description) == [
                "d.yaml: Deployment/web: spec.template: required; give the pod template a Rollout's workloadRef takes"
            ])
        let noContainers = ManifestDecoder().decode(
            "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: web}\ntemplate: {spec: {containers: []}}\n",
            file: "p.yaml")
        #expect(noContainers.hasErrors, "\(noContainers.diagnostics)")
        let wrongVersion = ManifestDecoder().decode(
            "apiVersion: v1\nkind: Deployment\nmetadata: {name: web}\n", file: "d.yaml")
        #expect(
            wrongVersion.diagnostics.map(\.description) == [
                "d.yaml: Deployment/web: apiVersion: must be \"apps/v1\" for kind Deployment, got \"v1\""
            ])
    }

    @Test func wrongAPIVersionSaysWhichOneIsExpected() throws {
        let diagnostic = try onlyError("apiVersion: apps/v1\nkind: Rollout\nmetadata: {name: web}\nspec: {}\n")
        #expect(
            diagnostic.description
                == "bad.yaml: Rollout/web: apiVersion: must be \"argoproj.io/v1alpha1\" for kind Rollout, got \"apps/v1\""
        )
    }

    @Test func numberWhereAListBelongs() throws {
        let manifest = Manifests.rollout(strategy: "canary:\n  steps: 5")
        let diagnostic = try onlyError(manifest)
        #expect(
            diagnostic.description
                == "bad.yaml: Rollout/demo: spec.strategy.canary.steps: expected a list, got a number (5)")
    }

    @Test func stringWhereANumberBelongs() throws {
        let manifest = Manifests.rollout(strategy: "canary: {}").replacingOccurrences(
            of: "replicas: 4", with: "replicas: four")
        let diagnostic = try onlyError(manifest)
        #expect(
            diagnostic.description
                == "bad.yaml: Rollout/demo: spec.replicas: expected an integer, got a string (\"four\")")
    }

    @Test func unquotedYAMLBooleanWhereAStringBelongsSaysToQuoteIt() throws {
        let diagnostic = try onlyError(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: {canary: yes}}\nspec: {ports: [{port: 80}]}\n"
        )
        #expect(
            diagnostic.description
                == "bad.yaml: Service/web: metadata.labels.canary: expected a string, got a boolean (true); "
                + "quote the value to keep it a string, e.g. \"true\"")
    }

    @Test func missingRequiredFieldSaysWhatToWrite() throws {
        let diagnostic = try onlyError(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec: {}\n")
        #expect(
            diagnostic.description
                == "bad.yaml: Rollout/web: spec.strategy: required; set canary: {...} or blueGreen: {...}")
    }

    @Test func duplicateKeyIsASyntaxError() throws {
        let diagnostic = try onlyError("apiVersion: v1\nkind: Service\nkind: Service\n")
        #expect(diagnostic.message.contains("duplicate key \"kind\""))
    }

    @Test func kubectlListIsReadItemByItem() throws {
        let list = """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {ports: [{port: 80}]}}
            - {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {ports: [{port: 0}]}}
            - {apiVersion: v1, kind: Pod, metadata: {name: c}}
            """
        let decoded = ManifestDecoder().decode(list, file: "list.yaml")
        #expect(decoded.resources.map(\.reference) == ["Service/a", "Service/b"])
        #expect(
            decoded.diagnostics.map(\.description) == [
                "list.yaml: Service/b: spec.ports[0].port: must be between 1 and 65535, got 0",
                "list.yaml: Pod/c: info: skipped: Aviary does not read kind Pod (v1); it reads Rollout, AnalysisTemplate, "
                    + "ClusterAnalysisTemplate, AnalysisRun, Experiment, Service, ConfigMap, Secret, Deployment, ReplicaSet, PodTemplate",
            ])
    }

    /// A status that the resource cannot keep is a warning: apply drops a manifest's status, as
    /// the API server does, so the spec is read and checked as usual.
    @Test(arguments: [
        (
            "pauseConditions: [{reason: StepPause, startTime: '2024-01-01T00:00:00Z'}]",
            "status.pauseConditions[0].reason: warning: expected one of CanaryPauseStep, BlueGreenPause, "
                + "InconclusiveAnalysisRun, InconclusiveExperiment; got \"StepPause\"; "
        ),
        (
            "phase: Rolling",
            "status.phase: warning: expected one of Healthy, Progressing, Paused, Degraded; got \"Rolling\"; "
        ),
        (
            "conditions: [{type: Available, status: Maybe}]",
            "status.conditions[0].status: warning: expected one of True, False, Unknown; got \"Maybe\"; "
        ),
        ("replicas: many", "status.replicas: warning: expected an integer, got a string (\"many\"); "),
    ])
    func anUnreadableStatusIsIgnoredWithAWarning(_ status: String, _ expected: String) throws {
        let manifest = Manifests.rollout(strategy: "canary: {steps: [{setWeight: 10}]}") + "\nstatus: {\(status)}\n"
        let decoded = ManifestDecoder().decode(manifest, file: "exported.yaml")
        #expect(decoded.resources.map(\.reference) == ["Rollout/demo"])
        #expect(decoded.diagnostics.count == 1, "\(decoded.diagnostics)")
        let warning = try #require(decoded.diagnostics.first)
        #expect(!warning.isError)
        #expect(
            warning.description
                == "exported.yaml: Rollout/demo: \(expected)status is ignored: the controller writes it, and "
                + "apply drops it (remove status: from the manifest to silence this)")
    }

    @Test func aSpecErrorBesideAnUnreadableStatusIsStillAnError() throws {
        let manifest =
            Manifests.rollout(strategy: "canary: {steps: 5}") + "\nstatus: {phase: Rolling}\n"
        let decoded = ManifestDecoder().decode(manifest, file: "exported.yaml")
        #expect(decoded.resources.isEmpty)
        #expect(
            decoded.diagnostics.map(\.description) == [
                "exported.yaml: Rollout/demo: spec.strategy.canary.steps: expected a list, got a number (5)"
            ])
    }

    @Test func anUnknownPhaseOfAStoredAnalysisRunListsThePhases() throws {
        let run = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisRun
            metadata: {name: run}
            spec:
              metrics: [{name: m, provider: {web: {url: "http://127.0.0.1/"}}}]
            status: {phase: Finished}
            """
        let decoded = ManifestDecoder().decode(run, file: "run.yaml")
        #expect(decoded.resources.map(\.reference) == ["AnalysisRun/run"])
        #expect(
            decoded.diagnostics.map(\.path) == ["status.phase"]
                && decoded.diagnostics.first?.message.hasPrefix(
                    "expected one of Pending, Running, Successful, Failed, Error, Inconclusive; got \"Finished\"")
                    == true,
            "\(decoded.diagnostics)")
    }

    @Test func goodDocumentsSurviveABadOneInTheSameFile() throws {
        let text =
            Fixtures.service + "\n---\napiVersion: argoproj.io/v1alpha1\nkind: Nope\n---\n" + Fixtures.successRate
        let decoded = ManifestDecoder().decode(text, file: "mixed.yaml")
        #expect(decoded.resources.map(\.kind.rawValue) == ["Service", "AnalysisTemplate"])
        #expect(decoded.diagnostics.map(\.path) == ["kind"])
        #expect(decoded.diagnostics.first?.resource == "document 2")
    }
}

@Suite struct ValueShapeTests {
    @Test(arguments: [
        ("10", 10.0), ("10s", 10), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), ("1.5h", 5400),
        ("-10s", -10), ("2m30s", 150),
    ])
    func durationParses(_ text: String, _ seconds: Double) throws {
        #expect(try ArgoDuration(text).seconds == seconds)
    }

    @Test(arguments: ["", "s", "10 minutes", "10x", "1h-5m", "ms"])
    func durationRejects(_ text: String) {
        #expect(throws: ArgoDurationError.self) { try ArgoDuration(text) }
    }

    /// Argo resolves `interval: "{{args.interval}}"` when the run is made: the template keeps it.
    @Test func templatedDurationIsKeptForTheRunToResolve() throws {
        let duration = try ArgoDuration("{{args.interval}}")
        #expect(duration.isTemplated)
        #expect(duration.description == "{{args.interval}}")
        #expect(duration == (try ArgoDuration("{{args.interval}}")))
        #expect(try !ArgoDuration("30s").isTemplated)
        #expect(throws: ArgoDurationError.self) { try ArgoDuration("{{args.interval") }
    }

    @Test(arguments: [
        (IntOrString.string("25%"), 10, true, 3), (.string("25%"), 10, false, 2), (.int(1), 10, true, 1),
        (.string("41%"), 10, true, 5), (.string("100%"), 7, false, 7), (.string("0%"), 7, true, 0),
    ])
    func intOrStringScales(_ value: IntOrString, _ total: Int, _ roundUp: Bool, _ expected: Int) {
        #expect(value.scaledValue(total: total, roundUp: roundUp) == expected)
    }

    @Test func defaultsAreComputedNotStored() throws {
        let yaml = Manifests.rollout(strategy: "canary: {}")
        guard case .rollout(let rollout) = try ManifestDecoder().resources(from: yaml).first else {
            Issue.record("expected a Rollout")
            return
        }
        let canary = try #require(rollout.spec.strategy.canary)
        #expect(canary.maxSurge == nil)
        #expect(canary.maxSurgeOrDefault == .string("25%"))
        #expect(canary.maxUnavailableOrDefault == .string("25%"))
        #expect(canary.scaleDownDelaySecondsOrDefault == 30)
        #expect(canary.abortScaleDownDelaySecondsOrDefault == 30)
        #expect(rollout.spec.progressDeadlineSecondsOrDefault == 600)
        #expect(rollout.spec.revisionHistoryLimitOrDefault == 10)
        #expect(rollout.metadata.namespaceOrDefault == "default")
        let encoded = try ManifestEncoder.yaml([.rollout(rollout)])
        #expect(!encoded.contains("maxSurge"))
    }
}
