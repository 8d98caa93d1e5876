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

    @Test func envEntriesSeeProvidedVariablesAndEarlierEntriesOnly() {
        let process = ResolvedPodProcess(
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

    @Test func baseVariablesCannotBeReferenced() {
        let process = ResolvedPodProcess(
            arguments: ["$(HOME)/bin/app"], containerEnvironment: [], provided: [:], base: ["HOME": "/root"])
        #expect(process.arguments == ["$(HOME)/bin/app"])
        #expect(process.environment == ["HOME": "/root"])
    }
}
