import Testing

@testable import AviaryCore

/// The plugin lists of Argo's `argo-rollouts-config`, read as Argo reads them.
@Suite struct ArgoPluginConfigurationTests {
    @Test func listsAreReadWithTheirLocationsAndArgs() throws {
        let data = [
            "metricProviderPlugins": """
            - name: "argoproj-labs/sample-prometheus"
              location: "file://./my-custom-plugin"
              args: ["--log-level", debug, 3]
            - name: acme/metrics.v2
              location: https://github.com/acme/plugin/releases/download/v1/plugin-linux-amd64
              sha256: 08f588b1c799a37bbe8d0fc74cc1b1492dd70b2c
              headersFrom:
              - secretRef: {name: github-token}
            """,
            "trafficRouterPlugins": "- name: argoproj-labs/gatewayAPI\n  location: file:///plugins/gateway",
        ]
        let metrics = try ArgoPluginConfiguration.plugins(.metricProvider, in: data)
        #expect(
            metrics == [
                ArgoPluginItem(
                    name: "argoproj-labs/sample-prometheus", location: "file://./my-custom-plugin",
                    args: ["--log-level", "debug", "3"]),
                ArgoPluginItem(
                    name: "acme/metrics.v2",
                    location: "https://github.com/acme/plugin/releases/download/v1/plugin-linux-amd64",
                    sha256: "08f588b1c799a37bbe8d0fc74cc1b1492dd70b2c", headersFrom: ["github-token"]),
            ])
        #expect(try metrics[0].source == .file(path: "./my-custom-plugin"))
        #expect(try metrics[1].source == .download(url: metrics[1].location))
        #expect(try metrics[1].directoryAndFilename == ("acme", "metrics.v2"))
        #expect(
            try ArgoPluginConfiguration.plugins(.trafficRouter, in: data).map(\.name) == ["argoproj-labs/gatewayAPI"])
        #expect(try ArgoPluginConfiguration.plugins(.step, in: data).isEmpty)
        #expect(try ArgoPluginConfiguration.plugins(.metricProvider, in: ["metricProviderPlugins": "  \n"]).isEmpty)
    }

    @Test(arguments: [
        (
            "- name: sample-prometheus\n  location: file:///p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1: plugin sample-prometheus: name "
                + "\"sample-prometheus\" must be NAMESPACE/NAME, as in argoproj-labs/sample-prometheus"
        ),
        (
            "- name: acme/p\n  location: ftp://host/p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1: plugin acme/p: location \"ftp://host/p\" "
                + "must start with http://, https:// or file://"
        ),
        (
            "- name: acme/p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1 (acme/p): location is missing"
        ),
        (
            "- location: file:///p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1: name is missing"
        ),
        (
            "name: acme/p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: must be a list of plugins (- name: …, "
                + "location: …)"
        ),
        (
            "- name: acme/p\n  location: file:///p\n  args: --debug",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1 (acme/p): args must be a list of "
                + "strings"
        ),
        (
            "- name: acme/p\n  location: https://h/p\n  sha256: 1234",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1 (acme/p): sha256 must be a string of "
                + "64 hex digits; quote it"
        ),
        (
            "- name: acme/p\n  location: https://h/p\n  headersFrom: [{secretRef: {}}]",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1 (acme/p): headersFrom must be a "
                + "list of {secretRef: {name: SECRET}}"
        ),
        (
            "- name: acme/../p\n  location: file:///p",
            "ConfigMap argo-rollouts-config, key metricProviderPlugins: entry 1: plugin acme/../p: name \"acme/../p\" must "
                + "be NAMESPACE/NAME, as in argoproj-labs/sample-prometheus"
        ),
    ])
    func aListThatCannotBeUsedIsNamed(text: String, message: String) {
        do throws(ArgoPluginConfigurationError) {
            _ = try ArgoPluginConfiguration.plugins(.metricProvider, in: ["metricProviderPlugins": text])
            Issue.record("\(text) was read")
        } catch {
            #expect(error.message == message)
            #expect(error.key == "metricProviderPlugins")
        }
    }
}
