import AviaryJSON
import AviaryModel

/// What Aviary does with each metric's provider, said at lint time: the fields of the providers it
/// runs are checked by their rules, and a provider Aviary does not run is an error naming it (its
/// measurements would all be Errors) rather than a surprise at the first measurement.
enum ProviderChecks {
    /// The providers Aviary measures with.
    static let supported =
        "prometheus, web, job, graphite, datadog, newRelic, influxdb, skywalking, wavefront, cloudWatch, kayenta, "
        + "the \(judgePluginName) plugin or a metric plugin listed in argo-rollouts-config"

    static func check(_ metrics: [Metric]) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        for (index, metric) in metrics.enumerated() {
            let path = "spec.metrics[\(index)].provider"
            let provider = metric.provider
            guard provider.setKeys.count == 1, let kind = provider.setKeys.first else { continue }
            if ["prometheus", "web", "job"].contains(kind) { continue }
            if kind == "graphite" {
                issues += graphite(provider.graphite, path: "\(path).graphite")
                continue
            }
            switch kind {
            case "datadog":
                issues += fields(provider.datadog, path: "\(path).datadog", provider: "Datadog", known: DatadogSpec.fields) {
                    (value) throws(ProviderSpecError) in _ = try DatadogSpec(provider: value, allowTemplates: true)
                }
                continue
            case "newRelic":
                issues += fields(
                    provider.newRelic, path: "\(path).newRelic", provider: "New Relic", known: NewRelicSpec.fields
                ) { (value) throws(ProviderSpecError) in _ = try NewRelicSpec(provider: value, allowTemplates: true) }
                continue
            case "influxdb":
                issues += fields(provider.influxdb, path: "\(path).influxdb", provider: "InfluxDB", known: InfluxDBSpec.fields) {
                    (value) throws(ProviderSpecError) in _ = try InfluxDBSpec(provider: value)
                }
                continue
            case "wavefront":
                issues += fields(
                    provider.wavefront, path: "\(path).wavefront", provider: "Wavefront", known: WavefrontSpec.fields
                ) { (value) throws(ProviderSpecError) in _ = try WavefrontSpec(provider: value) }
                continue
            case "kayenta":
                issues += fields(
                    provider.kayenta, path: "\(path).kayenta", provider: "Kayenta",
                    known: KayentaSpec.fields + ["thresholds"]
                ) { (value) throws(ProviderSpecError) in
                    _ = try KayentaSpec(provider: value, metricInterval: metric.interval)
                }
                if provider.kayenta?["thresholds"] != nil, provider.kayenta?["threshold"] == nil {
                    issues.append(
                        FieldIssue(
                            "\(path).kayenta.thresholds",
                            "Argo's field is threshold: Argo ignores thresholds (as its Kayenta page spells it) and "
                                + "passes every score; Aviary reads it as threshold. Rename it to be judged alike by "
                                + "both",
                            severity: .warning))
                }
                continue
            case "cloudWatch":
                issues += fields(
                    provider.cloudWatch, path: "\(path).cloudWatch", provider: "CloudWatch", known: CloudWatchSpec.fields
                ) { (value) throws(ProviderSpecError) in _ = try CloudWatchSpec(provider: value, allowTemplates: true) }
                continue
            case "skywalking":
                issues += fields(
                    provider.skywalking, path: "\(path).skywalking", provider: "SkyWalking",
                    known: SkyWalkingSpec.fields
                ) { (value) throws(ProviderSpecError) in _ = try SkyWalkingSpec(provider: value, allowTemplates: true) }
                continue
            default: break
            }
            guard kind == "plugin", let plugins = provider.plugin?.objectValue else {
                issues.append(
                    FieldIssue(
                        "\(path).\(kind)",
                        "Aviary does not run the \(kind) provider (every measurement of this metric would be an "
                            + "Error); use \(supported)"))
                continue
            }
            // Argo's rule: one plugin per metric (each counts as a provider).
            if plugins.count > 1 {
                issues.append(
                    FieldIssue(
                        "\(path).plugin",
                        "multiple providers specified (\(plugins.keys.sorted().joined(separator: ", "))): a metric "
                            + "names one plugin; split it into one metric per plugin"))
            }
            // Any other name is one of Argo's metric plugins, run from the metricProviderPlugins list
            // of the ConfigMap argo-rollouts-config, which lint does not see.
            if let judge = plugins[judgePluginName] {
                do {
                    _ = try JudgeSpec(plugin: judge, allowTemplates: true)
                } catch {
                    let field = error.path.hasPrefix(judgePluginName) ? "" : "." + error.path
                    issues.append(FieldIssue("\(path).plugin[\"\(judgePluginName)\"]\(field)", error.message))
                }
            }
        }
        return issues
    }

    /// A provider Aviary runs: the error of its spec's rules (which Argo checks only at the first
    /// measurement), and a warning for each field Argo's metric type of the provider does not have.
    static func fields(
        _ value: JSONValue?, path: String, provider: String, known: [String],
        parse: (JSONValue?) throws(ProviderSpecError) -> Void
    ) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        do {
            try parse(value)
        } catch {
            issues.append(FieldIssue("\(path).\(error.field)", error.problem))
        }
        return issues
            + (value?.objectValue ?? [:]).keys.sorted().filter { !known.contains($0) }.map { name in
                FieldIssue(
                    "\(path).\(name)",
                    "unknown field; Argo's \(provider) metric takes \(known.joined(separator: ", "))"
                        + (provider == "Datadog" && name == "address" ? " (the address goes in the Secret, key address)" : ""),
                    severity: .warning)
            }
    }

    /// A Graphite metric needs an http(s) `address` and a `query` (Argo's fields; Argo finds a
    /// missing one only at the first measurement).
    static func graphite(_ value: JSONValue?, path: String) -> [FieldIssue] {
        let fields = value?.objectValue ?? [:]
        var issues: [FieldIssue] = []
        let address = fields["address"]?.stringValue ?? ""
        if address.isEmpty {
            issues.append(FieldIssue("\(path).address", "required; give Graphite's URL, http://graphite:8080"))
        } else if !address.contains("{{"), !(address.hasPrefix("http://") || address.hasPrefix("https://")) {
            issues.append(FieldIssue("\(path).address", "must be an http(s) URL, got \(address)"))
        }
        if (fields["query"]?.stringValue ?? "").isEmpty {
            issues.append(FieldIssue("\(path).query", "required; give the render query, target=...&from=-5min"))
        }
        for name in fields.keys.sorted() where !["address", "query"].contains(name) {
            issues.append(FieldIssue("\(path).\(name)", "unknown field; Graphite takes address and query", severity: .warning))
        }
        return issues
    }
}
