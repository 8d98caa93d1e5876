import AviaryModel
import Testing

@testable import AviaryLocal

/// `$(VAR)` expansion as Kubernetes documents and implements it (`expansion.Expand`): each row is
/// an input, the variables defined, and what the kubelet would make of it.
@Suite struct PodEnvironmentTests {
    static let variables = ["IMAGE_TAG": "v2", "PORT": "8080", "EMPTY": "", "A": "$(B)"]

    @Test(arguments: [
        ("/opt/app/$(IMAGE_TAG)/server", "/opt/app/v2/server"),
        ("--port=$(PORT)", "--port=8080"),
        ("$(IMAGE_TAG)$(PORT)", "v28080"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("x$(UNKNOWN)y$(PORT)", "x$(UNKNOWN)y8080"),
        ("$$(IMAGE_TAG)", "$(IMAGE_TAG)"),
        ("$$$(IMAGE_TAG)", "$v2"),
        ("$$$$", "$$"),
        ("$$", "$"),
        ("$", "$"),
        ("a$", "a$"),
        ("$x", "$x"),
        ("$(IMAGE_TAG", "$(IMAGE_TAG"),
        ("$(", "$("),
        ("$()", "$()"),
        ("$(EMPTY)", ""),
        ("$(A)", "$(B)"),
        ("no references", "no references"),
        ("¢$(PORT)€", "¢8080€"),
    ])
    func expandsLikeTheKubelet(input: String, expected: String) {
        #expect(VariableExpansion.expand(input, with: Self.variables) == expected)
    }

    @Test(arguments: [
        ("myapp:v2", "myapp", "v2"),
        ("myapp", "myapp", "latest"),
        ("myapp:", "myapp", "latest"),
        ("registry.example:5000/team/app:1.2.3", "registry.example:5000/team/app", "1.2.3"),
        ("registry.example:5000/team/app", "registry.example:5000/team/app", "latest"),
        ("app@sha256:0123abcd", "app", "sha256:0123abcd"),
        ("ghcr.io/org/app:v2@sha256:0123abcd", "ghcr.io/org/app:v2", "sha256:0123abcd"),
    ])
    func splitsImageReferences(reference: String, name: String, tag: String) {
        let image = ImageReference(parsing: reference)
        #expect(image.name == name)
        #expect(image.tag == tag)
    }

    @Test func envEntriesSeeProvidedVariablesAndEarlierEntriesOnly() throws {
        let process = try ResolvedPodProcess(
            arguments: ["/opt/app/$(IMAGE_TAG)/server", "--listen=:$(PORT)", "--mode=$(MODE)", "$(LATER)"],
            containerEnvironment: [
                EnvironmentEntry(name: "MODE", value: "fast-$(IMAGE_TAG)"),
                EnvironmentEntry(name: "EARLY", value: "$(LATER)"),
                EnvironmentEntry(name: "LATER", value: "later"),
                EnvironmentEntry(name: "PORT", value: "1"),
            ],
            provided: ["PORT": "8080", "IMAGE_TAG": "v2"],
            base: ["PATH": "/usr/bin", "MODE": "from-base"])
        #expect(
            process.arguments == ["/opt/app/v2/server", "--listen=:8080", "--mode=fast-v2", "later"])
        #expect(
            process.environment == [
                "PATH": "/usr/bin", "MODE": "fast-v2", "EARLY": "$(LATER)", "LATER": "later", "PORT": "8080",
                "IMAGE_TAG": "v2",
            ])
    }

    @Test func baseVariablesCannotBeReferenced() throws {
        let process = try ResolvedPodProcess(
            arguments: ["$(HOME)/bin/app"], containerEnvironment: [], provided: [:], base: ["HOME": "/root"])
        #expect(process.arguments == ["$(HOME)/bin/app"])
        #expect(process.environment == ["HOME": "/root"])
    }

    /// The objects the configuration tests read.
    static let stored: [ConfigurationKind: [String: [String: String]]] = [
        .configMap: ["web": ["GREETING": "hi", "MODE": "$(PORT)", "bad=key": "x"]],
        .secret: ["creds": ["TOKEN": "s3cr3t"]],
    ]

    static func lookup(_ kind: ConfigurationKind, _ name: String) -> [String: String]? { stored[kind]?[name] }

    static func resolve(
        from sources: [EnvFromSource] = [], _ entries: [EnvironmentEntry], arguments: [String] = []
    ) throws(PodEnvironmentError) -> ResolvedPodProcess {
        try ResolvedPodProcess(
            arguments: arguments, environmentFrom: sources, containerEnvironment: entries, provided: ["PORT": "8080"],
            fields: PodFields(name: "web-abc-1", namespace: "shop", labels: ["app": "web"]), lookup: lookup)
    }

    /// envFrom first (prefixed, never expanded, keys with "=" skipped), then env in order: a
    /// literal sees what came before, a valueFrom value is taken as it is, a later entry wins.
    @Test func envFromAndValueFromResolveAsTheKubeletDoes() throws {
        let process = try Self.resolve(
            from: [
                EnvFromSource(prefix: "CFG_", configMapRef: ConfigSourceReference(name: "web")),
                EnvFromSource(secretRef: ConfigSourceReference(name: "creds")),
            ],
            [
                EnvironmentEntry(name: "SUMMARY", value: "$(CFG_GREETING) on $(PORT) as $(ME)"),
                EnvironmentEntry(name: "ME", value: "", source: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name"))),
                EnvironmentEntry(
                    name: "COPY", value: "",
                    source: EnvVarSource(configMapKeyRef: ConfigKeySelector(name: "web", key: "MODE"))),
                EnvironmentEntry(name: "TOKEN", value: "overridden"),
                EnvironmentEntry(
                    name: "APP", value: "",
                    source: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels['app']"))),
                EnvironmentEntry(
                    name: "MISSING_LABEL", value: "",
                    source: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels['tier']"))),
            ],
            arguments: ["serve", "--greeting=$(CFG_GREETING)", "--token=$(TOKEN)"])
        #expect(
            process.environment == [
                "CFG_GREETING": "hi", "CFG_MODE": "$(PORT)", "TOKEN": "overridden", "PORT": "8080",
                "SUMMARY": "hi on 8080 as $(ME)", "ME": "web-abc-1", "COPY": "$(PORT)", "APP": "web", "MISSING_LABEL": "",
            ])
        #expect(process.arguments == ["serve", "--greeting=hi", "--token=overridden"])
    }

    /// What is missing, and whether the pod may start without it.
    @Test(arguments: [
        (EnvFromSource(configMapRef: ConfigSourceReference(name: "absent")), nil,
         "configmap \"absent\" not found in namespace \"shop\"; apply it (aviary apply -f), or mark the reference optional: true"),
        (EnvFromSource(secretRef: ConfigSourceReference(name: "absent", optional: true)), nil, nil),
        (nil, EnvVarSource(secretKeyRef: ConfigKeySelector(name: "creds", key: "PASSWORD")),
         "env VALUE: secret \"creds\" has no key \"PASSWORD\"; add it, or mark the reference optional: true"),
        (nil, EnvVarSource(secretKeyRef: ConfigKeySelector(name: "creds", key: "PASSWORD", optional: true)), nil),
        (nil, EnvVarSource(configMapKeyRef: ConfigKeySelector(name: "gone", key: "K", optional: true)), nil),
        (nil, EnvVarSource(configMapKeyRef: ConfigKeySelector(name: "gone", key: "K")),
         "configmap \"gone\" not found in namespace \"shop\"; apply it (aviary apply -f), or mark the reference optional: true"),
        (nil, EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "spec.replicas")),
         "env VALUE: fieldRef.fieldPath \"spec.replicas\" is not a field a pod offers; use metadata.name, metadata.namespace, metadata.labels['KEY'] or status.podIP"),
    ] as [(EnvFromSource?, EnvVarSource?, String?)])
    func aMissingSourceStopsThePodUnlessOptional(
        from source: EnvFromSource?, value: EnvVarSource?, expected: String?
    ) throws {
        let entries = value.map { [EnvironmentEntry(name: "VALUE", value: "", source: $0)] } ?? []
        do {
            let process = try Self.resolve(from: source.map { [$0] } ?? [], entries)
            #expect(expected == nil, "expected \(expected ?? "") but the pod starts")
            #expect(process.environment["VALUE"] == nil, "an optional source that is missing sets nothing")
        } catch {
            #expect(error.description == expected)
        }
    }

    /// The downward API's fields.
    @Test(arguments: [
        ("metadata.name", "p"), ("metadata.namespace", "ns"), ("metadata.uid", "p"),
        ("metadata.labels", "a=\"1\"\nb=\"2\""), ("metadata.labels['b']", "2"), ("metadata.labels['c']", ""),
        ("metadata.annotations['note']", "n"), ("status.podIP", "127.0.0.1"), ("spec.nodeName", "host"),
        ("spec.serviceAccountName", "default"),
    ])
    func podFieldsAnswerTheDownwardAPIsPaths(path: String, value: String) {
        let fields = PodFields(
            name: "p", namespace: "ns", labels: ["a": "1", "b": "2"], annotations: ["note": "n"], nodeName: "host")
        #expect(fields.value(at: path) == value)
    }
}
