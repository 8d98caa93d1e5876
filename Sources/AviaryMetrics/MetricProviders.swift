import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import Foundation

/// The metric back ends Aviary runs: `prometheus`, `web`, `job` (the job as a local process),
/// `graphite` (its render API), `datadog` (its v1 and v2 query APIs), `newRelic` (NRQL through
/// NerdGraph), `influxdb` (Flux through InfluxDB 2's query API), `skywalking`, `wavefront`,
/// `cloudWatch` (GetMetricData, signed with the AWS key of the environment), `kayenta` (a canary
/// analysis on a Kayenta server) and the `aviary.dev/judge` plugin (the statistical judge over
/// Prometheus range queries), and Argo's own metric plugins (go-plugin binaries listed in the
/// ConfigMap `argo-rollouts-config`, run by `metricPlugins`).
///
/// Every call returns an outcome, never throws: a failure to measure is an Error measurement
/// with the reason in its message, which is what Argo Rollouts' `consecutiveErrorLimit` counts.
public struct MetricProviders: MeasurementProvider {
    /// The Prometheus address for metrics that give none (`aviary analysis run --prometheus-address`).
    public var defaultPrometheusAddress: String?
    /// How long a job may run when its spec sets no `activeDeadlineSeconds`.
    public var defaultJobTimeout: Duration
    /// The wall clock, for range-query expressions such as `now() - duration("5m")`.
    public var now: @Sendable () -> Date
    /// The addresses of the pods the daemon serves on `GET /sd`; when set, a Prometheus query
    /// first waits (bounded) until a Prometheus that scrapes them has scraped each once
    /// (`ScrapeReadiness`). Nil: query at once.
    public var discoveredPods: (@Sendable () async -> Set<String>)?
    /// The time instant queries are evaluated at (Prometheus' `time` parameter); nil: now.
    /// `aviary analysis backtest` sets it, with `now`, to replay a run over past data.
    public var queryTime: Date?
    /// The keys of a Secret, by namespace and name (nil: no such Secret), for the providers whose
    /// credentials live in one (Datadog's `api-key` and `app-key`, New Relic's and InfluxDB's
    /// profiles). Nil: no Secrets are read.
    public var secret: (@Sendable (_ namespace: String, _ name: String) async -> [String: String]?)?
    /// The controller's namespace, where Datadog's Secret (unless `secretRef.namespaced`) and New
    /// Relic's and InfluxDB's profiles are read.
    public var controllerNamespace = "default"
    /// Where this process reads Secrets from, added to the message about a missing one (on one
    /// host: an applied Secret or `secrets.yaml`); nil says nothing more.
    public var secretSource: String?
    /// The controller's environment, for Datadog's `DD_API_KEY`, `DD_APP_KEY` and `DD_ADDRESS`.
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// Where Wavefront's API is for an address: `https://ADDRESS/api/v2`, as Argo's client has it
    /// (tests point it at a local server).
    public var wavefrontBase: @Sendable (String) -> String = { "https://\($0)/api/v2" }
    /// How long to wait between asking Kayenta whether an analysis is complete (Argo's 15 s).
    public var kayentaPollInterval: Duration = .seconds(15)
    /// Runs the metric plugins other than the judge (Argo's go-plugin binaries); nil: this process
    /// runs none, and such a metric's measurements are Errors saying so.
    public var metricPlugins: ArgoPluginHost?
    /// How long to wait before asking again about a plugin's Running measurement that names no
    /// `resumeAt`.
    public var pluginResumeInterval: Duration = .seconds(10)

    /// Providers with an optional fallback Prometheus address.
    public init(
        defaultPrometheusAddress: String? = nil, defaultJobTimeout: Duration = .seconds(600),
        discoveredPods: (@Sendable () async -> Set<String>)? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.defaultPrometheusAddress = defaultPrometheusAddress
        self.defaultJobTimeout = defaultJobTimeout
        self.discoveredPods = discoveredPods
        self.now = now
    }

    /// Prometheus `timeout` (30 s), web `timeoutSeconds` (10 s), job `activeDeadlineSeconds`.
    public func timeout(for metric: Metric) -> Duration {
        if let prometheus = metric.provider.prometheus { return .seconds(max(1, prometheus.timeoutOrDefault)) }
        if let web = metric.provider.web { return .seconds(max(1, web.timeoutSecondsOrDefault)) }
        if metric.provider.graphite != nil { return .seconds(10) }
        if let datadog = metric.provider.datadog {
            return ((try? DatadogSpec(provider: datadog))?.requestTimeout ?? .seconds(10)) + .seconds(5)
        }
        if let newRelic = metric.provider.newRelic {
            return .seconds(((try? NewRelicSpec(provider: newRelic))?.timeoutSeconds ?? 5) + 15)
        }
        if metric.provider.influxdb != nil { return InfluxDBClient.timeout + .seconds(5) }
        if metric.provider.skywalking != nil { return SkyWalkingClient.timeout + .seconds(5) }
        if metric.provider.wavefront != nil { return WavefrontClient.timeout + .seconds(5) }
        if metric.provider.cloudWatch != nil { return CloudWatchClient.timeout + .seconds(5) }
        if metric.provider.kayenta != nil { return Self.kayentaTimeout }
        if let job = metric.provider.job {
            return job.spec.activeDeadlineSeconds.map { .seconds(max(1, $0)) } ?? defaultJobTimeout
        }
        if let judge = metric.provider.plugin?.objectValue?[judgePluginName] {
            // The queries run at once; the judge's own work on their points is the margin.
            return .seconds((try? JudgeSpec(plugin: judge))?.timeoutSeconds ?? 30) + .seconds(10)
        }
        // A plugin's measurement may stay Running (Argo sets no bound); as long as Kayenta's.
        if metric.provider.plugin != nil { return Self.kayentaTimeout }
        return .seconds(30)
    }

    /// Takes one measurement with the metric's provider.
    public func measure(_ request: MeasurementRequest) async -> ProviderOutcome {
        let metric = request.metric
        if let policy = request.earlyStop { return await look(policy, metric: metric) }
        if let prometheus = metric.provider.prometheus { return await measure(prometheus, metric: metric) }
        if let web = metric.provider.web { return await measure(web, metric: metric) }
        if let job = metric.provider.job { return await measure(job, metric: metric) }
        if let graphite = metric.provider.graphite { return await measure(graphite: graphite) }
        if let datadog = metric.provider.datadog { return await measure(datadog: datadog, namespace: request.namespace) }
        if let newRelic = metric.provider.newRelic { return await measure(newRelic: newRelic) }
        if let influxdb = metric.provider.influxdb { return await measure(influxdb: influxdb) }
        if let skywalking = metric.provider.skywalking { return await measure(skywalking: skywalking) }
        if let wavefront = metric.provider.wavefront {
            return await measure(wavefront: wavefront, start: request.startedAt)
        }
        if let cloudWatch = metric.provider.cloudWatch { return await measure(cloudWatch: cloudWatch) }
        if let kayenta = metric.provider.kayenta { return await measure(kayenta: kayenta, request: request) }
        if let plugins = metric.provider.plugin?.objectValue, let judge = plugins[judgePluginName], plugins.count == 1 {
            return await measure(judge: judge)
        }
        if let plugins = metric.provider.plugin?.objectValue, plugins.count == 1, let name = plugins.keys.first {
            return await measure(plugin: name, request: request)
        }
        let kinds = metric.provider.setKeys.joined(separator: ", ")
        return .error(
            "metric provider \(kinds.isEmpty ? "(none)" : kinds) is not supported by Aviary: use prometheus, web, job, "
                + "graphite, datadog, newRelic, influxdb, skywalking, wavefront, cloudWatch, kayenta or the "
                + "\(judgePluginName) plugin, or one metric plugin of Argo's listed in "
                + ArgoPluginConfiguration.configMapName
        )
    }

    // MARK: - Prometheus

    func prometheusQuery(_ metric: PrometheusMetric, timeout: Duration) -> Result<PrometheusQuery, PrometheusError> {
        guard let address = metric.address ?? defaultPrometheusAddress, !address.isEmpty else {
            return .failure(
                .invalidRequest(
                    "prometheus address is not configured: set provider.prometheus.address (or --prometheus-address)"))
        }
        guard let text = metric.query, !text.isEmpty else {
            return .failure(.invalidRequest("provider.prometheus.query is empty"))
        }
        var query = PrometheusQuery(
            address: address, query: text, headers: (metric.headers ?? []).map { ($0.key, $0.value) },
            timeout: timeout, insecure: metric.insecure ?? false)
        query.time = queryTime
        if let range = metric.rangeQuery {
            let moment = now()
            guard case .success(let start) = evaluateTime(range.start, now: moment, field: "start") else {
                return .failure(evaluateTime(range.start, now: moment, field: "start").failureValue!)
            }
            guard case .success(let end) = evaluateTime(range.end, now: moment, field: "end") else {
                return .failure(evaluateTime(range.end, now: moment, field: "end").failureValue!)
            }
            guard let stepText = range.step, let step = try? ArgoDuration(stepText), step.seconds > 0 else {
                return .failure(.invalidRequest("failed to parse rangeQuery.step as duration: \"\(range.step ?? "")\""))
            }
            query.range = PrometheusQuery.Range(start: start, end: end, stepSeconds: step.seconds)
        }
        switch Self.authentication(metric.authentication) {
        case .success(let authentication): query.authentication = authentication
        case .failure(let error): return .failure(error)
        }
        return .success(query)
    }

    private func measure(_ metric: PrometheusMetric, metric full: Metric) async -> ProviderOutcome {
        let query: PrometheusQuery
        switch prometheusQuery(metric, timeout: timeout(for: full)) {
        case .success(let built): query = built
        case .failure(let error): return .error(error.description)
        }
        // Measured anyway after the wait: a pod that is never scraped must not hold the analysis
        // up, but the measurement says which pods had no scrape yet.
        var unscraped: Set<String> = []
        if let discoveredPods {
            unscraped = await ScrapeReadiness.wait(prometheus: query.address, wanted: discoveredPods)
        }
        do {
            let (result, warnings) = try await PrometheusClient.run(query)
            var metadata = warnings.isEmpty ? [:] : ["warnings": warnings.map { "\"\($0)\"" }.joined(separator: ", ")]
            if !unscraped.isEmpty { metadata["unscrapedPods"] = unscraped.sorted().joined(separator: ", ") }
            return .value(Self.exprValue(result), display: result.displayValue, metadata: metadata)
        } catch {
            return .error(error.description)
        }
    }

    private func evaluateTime(_ text: String?, now: Date, field: String) -> Result<Date, PrometheusError> {
        guard let text, !text.isEmpty else { return .failure(.invalidRequest("rangeQuery.\(field) is empty")) }
        do {
            let value = try Expression(text).evaluate(["$now": .time(now)])
            guard case .time(let date) = value else {
                return .failure(
                    .invalidRequest("failed to parse rangeQuery.\(field) as time: \"\(text)\" is not a time"))
            }
            return .success(date)
        } catch {
            return .failure(.invalidRequest("failed to parse rangeQuery.\(field) as time: \(error)"))
        }
    }

    /// Reads `authentication` (`basicAuth{username,password}`, `oauth2{tokenUrl,clientId,clientSecret,scopes}`).
    static func authentication(_ value: JSONValue?) -> Result<PrometheusQuery.Authentication, PrometheusError> {
        guard let value, case .object(let object) = value else { return .success(.none) }
        if let basic = object["basicAuth"]?.objectValue, let username = basic["username"]?.stringValue,
            !username.isEmpty
        {
            return .success(.basic(username: username, password: basic["password"]?.stringValue ?? ""))
        }
        if let oauth = object["oauth2"]?.objectValue, let tokenURL = oauth["tokenUrl"]?.stringValue, !tokenURL.isEmpty {
            guard let clientID = oauth["clientId"]?.stringValue, let secret = oauth["clientSecret"]?.stringValue,
                !clientID.isEmpty, !secret.isEmpty
            else {
                return .failure(
                    .invalidRequest("missing mandatory parameter in metric for OAuth2 setup (clientId, clientSecret)"))
            }
            let scopes = oauth["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return .success(.oauth2(tokenURL: tokenURL, clientID: clientID, clientSecret: secret, scopes: scopes))
        }
        if let sigv4 = object["sigv4"]?.objectValue, !sigv4.isEmpty {
            return .failure(
                .invalidRequest("authentication.sigv4 (Amazon Managed Prometheus) is not supported by Aviary"))
        }
        return .success(.none)
    }

    /// What a condition sees as `result`: a list of floats for a vector or matrix, a float for a scalar.
    static func exprValue(_ result: PrometheusResult) -> ExprValue {
        switch result {
        case .vector(let values), .matrix(let values): .array(values.map(ExprValue.float))
        case .scalar(let value): .float(value)
        case .string(let text): .string(text)
        }
    }

    // MARK: - Early stop

    /// One look of a metric's early-stop test: the policy's error and request counts, from the
    /// policy's Prometheus, else the metric's, else the default.
    private func look(_ policy: EarlyStopPolicy, metric: Metric) async -> ProviderOutcome {
        let judgeAddress = metric.provider.plugin?.objectValue?[judgePluginName].flatMap {
            try? JudgeSpec(plugin: $0).address
        }
        guard
            let address = policy.address ?? metric.provider.prometheus?.address ?? judgeAddress
                ?? defaultPrometheusAddress, !address.isEmpty
        else {
            return .error(
                "\(EarlyStop.annotation): no Prometheus address: give the policy an address (or --prometheus-address)")
        }
        var counts: [String: ExprValue] = [:]
        for (name, text) in [("errors", policy.errors), ("total", policy.total)] {
            do {
                let (result, _) = try await PrometheusClient.run(
                    PrometheusQuery(address: address, query: text, time: queryTime, timeout: timeout(for: metric)))
                switch result {
                case .scalar(let value): counts[name] = .float(value)
                // No series yet (no error so far, say) is a count of 0.
                case .vector(let values), .matrix(let values): counts[name] = .float(values.reduce(0, +))
                case .string: return .error("\(EarlyStop.annotation): the \(name) query gave a string, not a count")
                }
            } catch {
                return .error("\(EarlyStop.annotation): the \(name) query: \(error.description)")
            }
        }
        return .value(.map(counts), display: "errors \(counts["errors"]!), total \(counts["total"]!)")
    }

    // MARK: - Graphite

    /// Argo's Graphite provider: no datapoints at all is an Error ("no values found"); else the
    /// values there are, as a list of floats, null points left out.
    private func measure(graphite value: JSONValue) async -> ProviderOutcome {
        do throws(GraphiteError) {
            let points = try await GraphiteClient.run(try GraphiteQuery(provider: value))
            guard !points.isEmpty else { return .error("no values found") }
            let values = points.compactMap { $0 }
            return .value(.array(values.map(ExprValue.float)), display: GraphiteClient.display(values))
        } catch {
            return .error(error.description)
        }
    }

    // MARK: - Datadog

    private func measure(datadog value: JSONValue, namespace: String) async -> ProviderOutcome {
        let spec: DatadogSpec
        do {
            spec = try DatadogSpec(provider: value)
        } catch {
            return .error(error.description)
        }
        guard let credentials = await datadogCredentials(spec, runNamespace: namespace) else {
            let secretNamespace = spec.namespaced ? namespace : controllerNamespace
            let place =
                spec.secretName.map { "the Secret \(secretNamespace)/\($0)" }
                ?? "the Secret \(secretNamespace)/\(DatadogSpec.defaultSecretName) or DD_API_KEY, DD_APP_KEY and DD_ADDRESS"
            return .error(
                "failed to find the credentials for datadog metrics provider: give \(place) the keys api-key and app-key "
                    + "(and address for a site other than api.datadoghq.com)" + (secretSource.map { "; \($0)" } ?? ""))
        }
        do throws(DatadogError) {
            switch try await DatadogClient.run(spec, credentials: credentials, now: queryTime ?? now()) {
            case .none(let display):
                return .value(.nil, display: display)
            case .scalar(let number):
                return .value(.float(number), display: DatadogClient.format(number))
            case .grouped(let numbers, let groups, let truncated):
                var metadata = ["groups": groups]
                if truncated { metadata["groups_truncated"] = "true" }
                return .value(
                    .array(numbers.map(ExprValue.float)),
                    display: "[" + numbers.map(DatadogClient.format).joined(separator: ",") + "]", metadata: metadata)
            }
        } catch {
            return .error(error.description)
        }
    }

    /// Argo's search: the named Secret (in the run's namespace when `namespaced`, else the
    /// controller's); without a name the `DD_*` variables, then the Secret `datadog` of the
    /// controller's namespace.
    func datadogCredentials(_ spec: DatadogSpec, runNamespace: String) async -> DatadogCredentials? {
        if let name = spec.secretName {
            let values = await secret?(spec.namespaced ? runNamespace : controllerNamespace, name)
            return values.flatMap(DatadogCredentials.init(secret:))
        }
        if let fromEnvironment = DatadogCredentials(environment: environment) { return fromEnvironment }
        return await secret?(controllerNamespace, DatadogSpec.defaultSecretName).flatMap(DatadogCredentials.init(secret:))
    }

    // MARK: - New Relic

    /// Argo's reading of the results: one row is `result` as a map (`result.count`), several a
    /// list of maps; none, or one empty row, is an Error ("no results returned from NRQL query").
    /// Numbers are floats, as Go decodes them.
    private func measure(newRelic value: JSONValue) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try NewRelicSpec(provider: value)
            guard let values = await secret?(controllerNamespace, spec.profile) else {
                return missingProfile(
                    spec.profile, keys: "personal-api-key and account-id (and region eu, or base-url-nerdgraph, if not "
                        + "the US region)")
            }
            do throws(NewRelicError) {
                let rows = try await NewRelicClient.run(spec, account: try NewRelicAccount(secret: values))
                guard let first = rows.first, rows.count > 1 || first.objectValue?.isEmpty == false else {
                    return .error("no results returned from NRQL query")
                }
                let shown: JSONValue = rows.count == 1 ? first : .array(rows)
                return .value(Self.goValue(shown), display: Self.jsonDisplay(shown))
            } catch {
                return .error(error.description)
            }
        } catch {
            return .error(error.description)
        }
    }

    /// The message for a profile Secret that is not there: where it was looked for, and its keys.
    private func missingProfile(_ name: String, keys: String) -> ProviderOutcome {
        .error(
            "secret \"\(name)\" not found in namespace \(controllerNamespace): create it with \(keys)"
                + (secretSource.map { "; \($0)" } ?? ""))
    }

    // MARK: - SkyWalking

    /// Argo's reading: `result` is the answer's `data`, and its JSON the value; no data is an
    /// Error ("no results returned from SkyWalking query").
    private func measure(skywalking value: JSONValue) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try SkyWalkingSpec(provider: value)
            do throws(SkyWalkingError) {
                let data = try await SkyWalkingClient.run(spec, now: queryTime ?? now())
                guard data != .null else { return .error("no results returned from SkyWalking query") }
                return .value(Self.goValue(data), display: Self.jsonDisplay(data))
            } catch {
                return .error(error.description)
            }
        } catch {
            return .error(error.description)
        }
    }

    // MARK: - Wavefront

    /// Argo's reading: each series' point nearest the measurement's start; one series is `result`
    /// as a number, several a list; the points' times and their drift from the start are metadata.
    private func measure(wavefront value: JSONValue, start: Date) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try WavefrontSpec(provider: value)
            guard let tokens = await secret?(controllerNamespace, WavefrontSpec.tokensSecret) else {
                return missingProfile(
                    WavefrontSpec.tokensSecret, keys: "one key per Wavefront address, its API token as value")
            }
            guard let token = tokens[spec.address] else { return .error("API token not found") }
            do throws(WavefrontError) {
                let (points, warnings) = try await WavefrontClient.run(
                    spec, token: token, at: queryTime ?? start, base: wavefrontBase(spec.address))
                func list(_ items: [String]) -> String {
                    points.count == 1 ? items[0] : "[" + items.joined(separator: ",") + "]"
                }
                var metadata = [
                    "timestamps": list(points.map { String($0.epoch) }), "drift": list(points.map { String($0.drift) }),
                ]
                if let warnings { metadata["warnings"] = warnings }
                let result: ExprValue =
                    points.count == 1 ? .float(points[0].value) : .array(points.map { .float($0.value) })
                let display = list(points.map { WavefrontClient.format($0.value) })
                return .value(result, display: display, metadata: metadata)
            } catch {
                return .error(error.description)
            }
        } catch {
            return .error(error.description)
        }
    }

    // MARK: - Kayenta

    /// How long a Kayenta analysis may take, from the config lookup to its score.
    static let kayentaTimeout: Duration = .seconds(1800)

    /// Argo's reading: Kayenta's score, truncated, is the value, and the phase is the score against
    /// the thresholds (the metric's conditions are not used); the execution's id is metadata. Argo
    /// keeps the measurement Running and asks again every 15 s; here the measurement asks until the
    /// analysis is complete.
    private func measure(kayenta value: JSONValue, request: MeasurementRequest) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try KayentaSpec(provider: value, metricInterval: request.metric.interval)
            do throws(KayentaError) {
                let configID = try await KayentaClient.configID(spec)
                let body = spec.request(
                    now: queryTime ?? now(), runStartedAt: request.runStartedAt,
                    intervalSeconds: request.metric.interval?.seconds ?? 0)
                let execution = try await KayentaClient.start(spec, configID: configID, body: body)
                while true {
                    do {
                        try await Task.sleep(for: kayentaPollInterval)
                    } catch {
                        return .error("Kayenta analysis \(execution) was not complete when the measurement ended")
                    }
                    guard let score = try await KayentaClient.score(spec, execution: execution) else { continue }
                    let whole = Int64(score)
                    return .phase(
                        spec.phase(score: whole), display: String(whole), metadata: ["canaryExecutionId": execution])
                }
            } catch {
                return .error(error.description)
            }
        } catch {
            return .error(error.description)
        }
    }

    // MARK: - CloudWatch

    /// Argo's reading: `result` is the list of GetMetricData's results, each with its `Values`
    /// and `Timestamps`; the value shown is every result's values; CloudWatch's messages are
    /// metadata.
    private func measure(cloudWatch value: JSONValue) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try CloudWatchSpec(provider: value)
            do throws(AWSConfiguration.Missing) {
                let configuration = try await AWSConfiguration.resolve(
                    service: "monitoring", serviceID: "CloudWatch", environment: environment
                ).signing()
                do throws(CloudWatchError) {
                    let (series, messages) = try await CloudWatchClient.run(
                        spec, configuration: configuration, end: queryTime ?? now())
                    let metadata = messages.isEmpty ? [:] : ["messages": CloudWatchClient.display(messages: messages)]
                    return .value(
                        CloudWatchClient.result(series), display: CloudWatchClient.display(series), metadata: metadata)
                } catch {
                    return .error(error.description)
                }
            } catch {
                return .error("provider.cloudWatch: \(error.description)")
            }
        } catch {
            return .error(error.description)
        }
    }

    // MARK: - InfluxDB

    /// Argo's reading: `result` is the list of every record's `_value`; none is an Error ("no
    /// results returned from flux query").
    private func measure(influxdb value: JSONValue) async -> ProviderOutcome {
        do throws(ProviderSpecError) {
            let spec = try InfluxDBSpec(provider: value)
            guard let values = await secret?(controllerNamespace, spec.profile) else {
                return missingProfile(spec.profile, keys: "authToken, org and address")
            }
            do throws(InfluxDBError) {
                let results = try await InfluxDBClient.run(spec, account: try InfluxDBAccount(secret: values))
                guard !results.isEmpty else { return .error("no results returned from flux query") }
                return .value(.array(results), display: InfluxDBClient.display(results))
            } catch {
                return .error(error.description)
            }
        } catch {
            return .error(error.description)
        }
    }

    /// A JSON value as Go's `encoding/json` gives it to Argo's conditions: every number a float.
    /// A measured JSON value as Go's encoder shows it: keys sorted, slashes as they are.
    static func jsonDisplay(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func goValue(_ value: JSONValue) -> ExprValue {
        switch value {
        case .integer(let number): .float(Double(number))
        case .array(let items): .array(items.map(goValue))
        case .object(let members): .map(members.mapValues(goValue))
        default: exprValue(value)
        }
    }

    // MARK: - Judge

    private func measure(judge value: JSONValue) async -> ProviderOutcome {
        let spec: JudgeSpec
        do {
            spec = try JudgeSpec(plugin: value)
        } catch {
            return .error("plugin \(judgePluginName): \(error.description)")
        }
        guard let address = spec.address ?? defaultPrometheusAddress, !address.isEmpty else {
            return .error(
                "prometheus address is not configured: set provider.plugin[\"\(judgePluginName)\"].address "
                    + "(or --prometheus-address)")
        }
        return await JudgeMeasurement(spec: spec, address: address, now: now()).measure()
    }

    // MARK: - Web

    private func measure(_ metric: WebMetric, metric full: Metric) async -> ProviderOutcome {
        let path: JSONPath
        do {
            path = try JSONPath(metric.jsonPathOrDefault)
        } catch {
            return .error(error.description)
        }
        var headers = (metric.headers ?? []).map { (name: $0.key, value: $0.value) }
        var body: Data?
        if let text = metric.body, !text.isEmpty, metric.jsonBody != nil {
            return .error("use either Body or JSONBody; both cannot exists for WebMetric payload")
        }
        if let text = metric.body, !text.isEmpty { body = Data(text.utf8) }
        if let json = metric.jsonBody {
            body = Data(json.jsonText.utf8)
            headers.removeAll { $0.name.lowercased() == "content-type" }
            headers.append((name: "Content-Type", value: "application/json"))
        }
        let authentication: MetricAuthentication
        switch Self.authentication(metric.authentication) {
        case .success(let found): authentication = found
        case .failure(let error): return .error(error.description)
        }
        let request = WebRequest(
            method: metric.methodOrDefault, url: metric.url, headers: headers, body: body, timeout: timeout(for: full),
            jsonPath: path, insecure: metric.insecure ?? false, authentication: authentication)
        do {
            let result = try await WebMetricClient.run(request)
            return .value(Self.exprValue(result.value), display: result.display)
        } catch {
            return .error(error.description)
        }
    }

    /// A JSON value as the expression language sees it.
    static func exprValue(_ value: JSONValue) -> ExprValue {
        switch value {
        case .null: .nil
        case .bool(let flag): .bool(flag)
        case .integer(let number): .int(Int(number))
        case .double(let number): .float(number)
        case .string(let text): .string(text)
        case .array(let items): .array(items.map(exprValue))
        case .object(let members): .map(members.mapValues(exprValue))
        }
    }

    // MARK: - Job

    private func measure(_ metric: JobMetric, metric full: Metric) async -> ProviderOutcome {
        guard let container = metric.spec.template.spec.containers.first else {
            return .error("job has no container: set provider.job.spec.template.spec.containers[0]")
        }
        let arguments = (container.command ?? []) + (container.args ?? [])
        var environment: [String: String] = [:]
        for variable in container.env ?? [] { if let value = variable.value { environment[variable.name] = value } }
        do {
            let outcome = try await JobRunner.run(
                JobCommand(arguments: arguments, environment: environment, timeout: timeout(for: full)))
            return .phase(outcome.succeeded ? .successful : .failed, message: outcome.summary)
        } catch {
            return .error(error.description)
        }
    }
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
