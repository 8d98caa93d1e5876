import AviaryModel

/// What Aviary does with each metric's provider, said at lint time: the judge plugin's
/// configuration is checked field by field, and a provider Aviary does not run is a warning (its
/// measurements would all be Errors) rather than a surprise at the first measurement.
enum ProviderChecks {
    /// The providers Aviary measures with.
    static let supported = "prometheus, web, job, graphite, datadog, newRelic, influxdb or the \(judgePluginName) plugin"

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
            if kind == "datadog" {
                issues += datadog(provider.datadog, path: "\(path).datadog")
                continue
            }
            if kind == "newRelic" {
                do {
                    _ = try NewRelicSpec(provider: provider.newRelic, allowTemplates: true)
                } catch {
                    issues.append(FieldIssue("\(path).newRelic.\(error.field)", error.problem))
                }
                issues += unknownFields(provider.newRelic, known: NewRelicSpec.fields, provider: "New Relic", path: "\(path).newRelic")
                continue
            }
            if kind == "influxdb" {
                do {
                    _ = try InfluxDBSpec(provider: provider.influxdb)
                } catch {
                    issues.append(FieldIssue("\(path).influxdb.\(error.field)", error.problem))
                }
                issues += unknownFields(provider.influxdb, known: InfluxDBSpec.fields, provider: "InfluxDB", path: "\(path).influxdb")
                continue
            }
            guard kind == "plugin", let plugins = provider.plugin?.objectValue else {
                issues.append(
                    FieldIssue(
                        "\(path).\(kind)",
                        "Aviary does not run the \(kind) provider: every measurement of this metric would be an "
                            + "Error; use \(supported)", severity: .warning))
                continue
            }
            for name in plugins.keys.sorted() where name != judgePluginName {
                issues.append(
                    FieldIssue(
                        "\(path).plugin[\"\(name)\"]",
                        "Aviary does not run the metric plugin \"\(name)\": every measurement of this metric would "
                            + "be an Error; use \(supported)", severity: .warning))
            }
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

    /// A Datadog metric follows Argo's rules (which Argo checks only at the first measurement);
    /// a field Argo's DatadogMetric does not have is a warning.
    static func datadog(_ value: JSONValue?, path: String) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        do {
            _ = try DatadogSpec(provider: value, allowTemplates: true)
        } catch {
            issues.append(FieldIssue("\(path).\(error.field)", error.problem))
        }
        return issues + unknownFields(value, known: DatadogSpec.fields, provider: "Datadog", path: path)
    }

    /// A warning for each field Argo's metric type of the provider does not have.
    static func unknownFields(_ value: JSONValue?, known: [String], provider: String, path: String) -> [FieldIssue] {
        (value?.objectValue ?? [:]).keys.sorted().filter { !known.contains($0) }.map { name in
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
