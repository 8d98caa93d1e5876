import ArgumentParser
import AviaryCore
import AviaryGoPlugin
import AviaryMetrics
import AviaryModel
import Foundation

/// `aviary analysis run`: runs an AnalysisTemplate on the spot, no daemon needed.
struct AnalysisRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an AnalysisTemplate now and print each measurement as it lands.",
        discussion: """
            Makes an AnalysisRun from the first AnalysisTemplate or ClusterAnalysisTemplate in the \
            file (or the one named by --template, or the AnalysisRun in the file) and runs it to the \
            end with the prometheus, web, job, graphite, datadog, newRelic and influxdb providers, exactly as a \
            Rollout's \
            analysis would, so a template can be tried against production Prometheus before any release \
            uses it. Other templates in the file can be included through `templates`. Secrets for \
            `valueFrom.secretKeyRef` come from <state-dir>/secrets.yaml, and so do Datadog's keys (the \
            entry `datadog`, or the one `secretRef.name` names: api-key, app-key, address; unless \
            DD_API_KEY, DD_APP_KEY and DD_ADDRESS are set) and the profiles of New Relic (the entry \
            `newrelic` or `profile`: personal-api-key, account-id, region) and InfluxDB (`influxdb` \
            or `profile`: authToken, org, address).

            Argo's metric plugins (provider.plugin with a plugin's name) run as Argo runs them: the \
            go-plugin binary that the ConfigMap argo-rollouts-config lists under metricProviderPlugins \
            (name, location file://PATH or https://URL, sha256, args) is started for the run and \
            stopped after it. The ConfigMap is read from the file itself, or from --argo-config.

            Each measurement prints a line (time, metric, value, phase, message) as it lands; the run \
            ends with a summary. Exit status: 0 Successful, 1 Failed, 2 Error (also for an unusable \
            file), 3 Inconclusive.

            Example:
              aviary analysis run -f success-rate.yaml --arg service=checkout \\
                  --prometheus-address http://127.0.0.1:9090
            """)

    @Option(name: [.customShort("f"), .long], help: "The YAML file with the AnalysisTemplate (or AnalysisRun).")
    var file: String

    @Option(
        name: .customLong("arg"),
        help: ArgumentHelp("An argument for the template (repeatable).", valueName: "name=value"))
    var args: [String] = []

    @Option(help: "The template to run when the file has several.")
    var template: String?

    @Option(help: "Prometheus address for metrics that set no provider.prometheus.address.")
    var prometheusAddress: String?

    @Option(help: "The state directory whose secrets.yaml supplies secretKeyRef arguments and Datadog's keys.")
    var stateDir: String = ".aviary"

    @Option(
        help: ArgumentHelp(
            "A YAML file with Argo's ConfigMap argo-rollouts-config, whose metricProviderPlugins lists the metric "
                + "plugins the template names (default: the one in the -f file, if any).",
            valueName: "file"))
    var argoConfig: String?

    func validate() throws {
        for arg in args {
            do {
                _ = try AdHocAnalysis.parseArgument(arg)
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    func run() async throws {
        let run: AviaryModel.AnalysisRun
        let secrets: SecretStore
        let pluginList: [String: String]?
        do {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AdHocAnalysisError(description: "\(file): cannot be read")
            }
            pluginList = try argoConfiguration(fileText: String(decoding: data, as: UTF8.self))
            let arguments = try args.map { arg throws(AdHocAnalysisError) in try AdHocAnalysis.parseArgument(arg) }
            run = try AdHocAnalysis.makeRun(
                text: String(decoding: data, as: UTF8.self), file: file, templateName: template, args: arguments,
                defaultPrometheusAddress: prometheusAddress)
            secrets = try SecretsFile.load(stateDirectory: stateDir)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var providers = MetricProviders(defaultPrometheusAddress: prometheusAddress)
        providers.secret = { _, name in secrets.secrets[name] }
        providers.secretSource = "Secrets are read from \(stateDir)/secrets.yaml (a Secret's name, then its keys)"
        let plugins = ArgoPluginHost(
            configuration: { pluginList }, configurationPlace: argoConfig ?? file,
            binDirectory: (stateDir as NSString).appendingPathComponent("plugin-bin"),
            secret: { name in secrets.secrets[name] },
            log: { plugin, text in
                // What the plugin says at info and above, as go-plugin's client would log it.
                let line = PluginLogLine(text)
                guard line.isNotable else { return }
                FileHandle.standardError.write(Data("plugin \(plugin): \(line.level): \(line.message)\n".utf8))
            })
        providers.metricPlugins = plugins
        let runner = AnalysisRunner(provider: providers, secrets: secrets)
        let finished = await runner.run(run) { update in
            if case .measured(let metric, let measurement) = update.event {
                print(AdHocAnalysis.line(metric: metric, measurement: measurement))
                // Lines must appear as measurements land, also when the output is a pipe.
                fflush(nil)
            }
        }
        await plugins.stopAll()
        print(AdHocAnalysis.summary(finished))
        let code = AdHocAnalysis.exitCode(for: finished.status?.phase)
        if code != 0 { throw ExitCode(code) }
    }

    /// The plugin list: `--argo-config`'s ConfigMap, else the one in the `-f` file (`fileText`).
    private func argoConfiguration(fileText: String) throws(AdHocAnalysisError) -> [String: String]? {
        guard let argoConfig else { return AdHocAnalysis.argoConfiguration(text: fileText, file: file) }
        guard let data = FileManager.default.contents(atPath: argoConfig) else {
            throw AdHocAnalysisError(description: "--argo-config \(argoConfig): cannot be read")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let values = AdHocAnalysis.argoConfiguration(text: text, file: argoConfig) else {
            throw AdHocAnalysisError(
                description: "--argo-config \(argoConfig): has no ConfigMap named "
                    + "\(ArgoPluginConfiguration.configMapName); the plugin list lives in its "
                    + "data.metricProviderPlugins")
        }
        return values
    }
}
