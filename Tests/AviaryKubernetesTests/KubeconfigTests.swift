import Foundation
import Testing

@testable import AviaryKubernetes

private let base64Certificate = Data(Fixtures.certificatePEM.utf8).base64EncodedString()
private let base64Key = Data(Fixtures.keyPEM.utf8).base64EncodedString()

/// A kubeconfig with two clusters, users and contexts, written for the tests below.
private func twoContexts(current: String = "dev") -> String {
    """
    apiVersion: v1
    kind: Config
    current-context: \(current)
    clusters:
    - name: dev-cluster
      cluster:
        server: http://127.0.0.1:8001
    - name: prod-cluster
      cluster:
        server: https://prod.example:6443
        certificate-authority-data: \(base64Certificate)
    contexts:
    - name: dev
      context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
    - name: prod
      context: {cluster: prod-cluster, user: prod-user}
    users:
    - name: dev-user
      user: {token: dev-token}
    - name: prod-user
      user:
        client-certificate-data: \(base64Certificate)
        client-key-data: \(base64Key)
    """
}

@Suite struct KubeconfigTests {
    @Test func theCurrentContextGivesServerNamespaceAndToken() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("config", twoContexts())
        let configuration = try ClientConfiguration.fromKubeconfig(explicitPath: file)
        #expect(configuration.server == "http://127.0.0.1:8001")
        #expect(configuration.namespace == "team-a")
        #expect(configuration.credentials == .token("dev-token"))
        #expect(configuration.origin.contains("context \"dev\""))
    }

    @Test func anExplicitContextWinsAndCertificatesAreRead() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("config", twoContexts())
        let configuration = try ClientConfiguration.fromKubeconfig(explicitPath: file, context: "prod")
        #expect(configuration.server == "https://prod.example:6443")
        #expect(configuration.namespace == "default")
        #expect(configuration.credentials == .none)
        #expect(configuration.clientCertificatePEM == Array(Fixtures.certificatePEM.utf8))
        #expect(configuration.clientKeyPEM == Array(Fixtures.keyPEM.utf8))
        #expect(configuration.certificateAuthorityPEM == Array(Fixtures.certificatePEM.utf8))
    }

    /// KUBECONFIG merge: the first file to define an entry or a current-context wins; missing files are skipped.
    @Test func kubeconfigListsMergeFirstWins() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let first = try directory.write(
            "first",
            """
            clusters:
            - name: shared
              cluster: {server: http://first:1}
            users:
            - name: shared-user
              user: {tokenFile: token}
            """)
        try directory.write("token", "from-file\n")
        let second = try directory.write(
            "second",
            """
            current-context: ctx
            clusters:
            - name: shared
              cluster: {server: http://second:2}
            contexts:
            - name: ctx
              context: {cluster: shared, user: shared-user}
            users:
            - name: shared-user
              user: {token: second-token}
            """)
        let third = try directory.write("third", "current-context: ignored\n")
        let environment = ["KUBECONFIG": "\(first):\(directory.path)/missing:\(second)::\(third)"]
        let configuration = try ClientConfiguration.fromKubeconfig(environment: environment)
        #expect(configuration.server == "http://first:1")
        // Relative paths resolve against the file that holds them.
        #expect(configuration.credentials == .tokenFile(directory.path + "/token"))
    }

    @Test func execAndBasicAuthAreRecognised() throws {
        let text = """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://k:6443", insecure-skip-tls-verify: true}}]
            contexts: [{name: c, context: {cluster: k, user: u}}]
            users:
            - name: u
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token, args: [--cluster, k]}
            """
        let configuration = try ClientConfiguration(kubeconfig: Kubeconfig.parse(text, file: "/k"))
        #expect(configuration.insecureSkipTLSVerify)
        guard case .exec(let exec, let user) = configuration.credentials else {
            Issue.record("expected exec credentials, got \(configuration.credentials)")
            return
        }
        #expect(exec.command == "get-token" && exec.args == ["--cluster", "k"])
        #expect(user.contains("user \"u\""))
    }

    /// An exec plugin is run and its ExecCredential's token becomes the bearer token.
    @Test func anExecPluginsTokenIsUsed() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let plugin = try directory.write(
            "plugin.sh",
            """
            #!/bin/sh
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$AVIARY_TEST_TOKEN"'"}}'
            """)
        _ = chmod(plugin, 0o755)
        let exec = ExecConfig(
            command: plugin, args: nil, env: [.init(name: "AVIARY_TEST_TOKEN", value: "from-plugin")],
            apiVersion: nil, installHint: nil)
        let provider = CredentialProvider(credentials: .exec(exec, user: "user \"u\""), server: "https://k")
        #expect(try await provider.authorization() == "Bearer from-plugin")

        let failing = try directory.write("failing.sh", "#!/bin/sh\necho 'login expired' >&2\nexit 3\n")
        _ = chmod(failing, 0o755)
        let broken = CredentialProvider(
            credentials: .exec(
                ExecConfig(command: failing, args: nil, env: nil, apiVersion: nil, installHint: nil), user: "user \"u\""
            ),
            server: "https://k")
        do throws(CredentialFailure) {
            _ = try await broken.authorization()
            Issue.record("a failing plugin must fail")
        } catch {
            #expect(
                error.reason.contains("exited with status 3") && error.reason.contains("login expired"),
                "\(error.reason)")
        }
    }

    struct BadInput: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var context: String?
        /// Fragments the one-line message must contain (besides the file's path).
        var expected: [String]
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "not YAML", text: "clusters: [unclosed\n", expected: ["is not valid YAML"]),
        BadInput(
            name: "wrong shape", text: "clusters: {a: 1}\n", expected: ["clusters", "is not valid"]),
        BadInput(
            name: "missing context", text: twoContexts(current: "staging"),
            expected: ["context \"staging\"", "does not exist", "\"dev\", \"prod\""]),
        BadInput(
            name: "missing explicit context", text: twoContexts(), context: "qa",
            expected: ["context \"qa\" does not exist"]),
        BadInput(
            name: "no current context", text: "clusters: []\n", expected: ["current-context is not set", "--context"]),
        BadInput(
            name: "missing cluster",
            text: """
                current-context: c
                contexts: [{name: c, context: {cluster: gone, user: u}}]
                users: [{name: u, user: {token: t}}]
                """,
            expected: ["cluster \"gone\"", "does not exist"]),
        BadInput(
            name: "missing user",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "http://k:1"}}]
                contexts: [{name: c, context: {cluster: k, user: nobody}}]
                """,
            expected: ["user \"nobody\"", "does not exist"]),
        BadInput(
            name: "unreadable certificate",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "https://k:1"}}]
                contexts: [{name: c, context: {cluster: k, user: u}}]
                users: [{name: u, user: {client-certificate: /nonexistent/client.crt, client-key: /nonexistent/client.key}}]
                """,
            expected: ["user \"u\" client-certificate /nonexistent/client.crt", "cannot be read"]),
        BadInput(
            name: "unreadable CA",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "https://k:1", certificate-authority: missing-ca.crt}}]
                contexts: [{name: c, context: {cluster: k}}]
                """,
            expected: ["cluster \"k\" certificate-authority", "missing-ca.crt", "cannot be read"]),
        BadInput(
            name: "CA data not PEM",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "https://k:1", certificate-authority-data: aGVsbG8=}}]
                contexts: [{name: c, context: {cluster: k}}]
                """,
            expected: ["certificate-authority-data", "is not a PEM certificate"]),
        BadInput(
            name: "server without scheme",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "k:6443"}}]
                contexts: [{name: c, context: {cluster: k}}]
                """,
            expected: ["cluster \"k\" server", "is not an http(s) URL"]),
        BadInput(
            name: "auth provider",
            text: """
                current-context: c
                clusters: [{name: k, cluster: {server: "https://k:1"}}]
                contexts: [{name: c, context: {cluster: k, user: u}}]
                users: [{name: u, user: {auth-provider: {name: gcp}}}]
                """,
            expected: ["user \"u\" auth-provider \"gcp\"", "not supported", "exec plugin"]),
    ]

    /// Each bad kubeconfig gives one line that names the file, the entry and the cause.
    @Test(arguments: badInputs)
    func badKubeconfigsNameFileEntryAndCause(_ input: BadInput) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("config", input.text)
        do throws(KubeconfigError) {
            let configuration = try ClientConfiguration.fromKubeconfig(explicitPath: file, context: input.context)
            Issue.record("expected an error, got a configuration for \(configuration.server)")
        } catch {
            let message = error.description
            #expect(!message.contains("\n"), "one line: \(message)")
            #expect(message.contains(file), "names the file: \(message)")
            for fragment in input.expected { #expect(message.contains(fragment), "\(fragment) in: \(message)") }
        }
    }

    @Test func aMissingExplicitFileIsNamed() {
        let error = #expect(throws: KubeconfigError.self) {
            try ClientConfiguration.fromKubeconfig(explicitPath: "/nonexistent/kubeconfig")
        }
        #expect(error?.description.hasPrefix("/nonexistent/kubeconfig: file does not exist") == true)
    }

    @Test func inClusterReadsTheServiceAccountDirectory() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("token", "sa-token\n")
        try directory.write("ca.crt", Fixtures.certificatePEM)
        try directory.write("namespace", "aviary-system\n")
        let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let configuration = try ClientConfiguration.inCluster(
            serviceAccountDirectory: directory.path, environment: environment)
        #expect(configuration.server == "https://10.96.0.1:443")
        #expect(configuration.namespace == "aviary-system")
        #expect(configuration.credentials == .tokenFile(directory.path + "/token"))
        #expect(configuration.certificateAuthorityPEM == Array(Fixtures.certificatePEM.utf8))

        let ipv6 = try ClientConfiguration.inCluster(
            serviceAccountDirectory: directory.path,
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"])
        #expect(ipv6.server == "https://[fd00::1]:443")
    }

    @Test func inClusterOutsideAPodSaysSo() {
        let error = #expect(throws: KubeconfigError.self) {
            try ClientConfiguration.inCluster(serviceAccountDirectory: "/nonexistent", environment: [:])
        }
        #expect(error?.description.contains("KUBERNETES_SERVICE_HOST") == true)
        #expect(error?.description.contains("--kubeconfig") == true)
    }
}
