import AviaryJSON
import AviaryMeta

/// An `AnalysisTemplate`: metrics and the arguments they take, instantiated as AnalysisRuns.
public struct AnalysisTemplate: Codable, Sendable, Hashable {
    /// `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// `AnalysisTemplate`.
    public var kind: String
    /// Name and namespace.
    public var metadata: ObjectMeta
    /// Metrics and arguments.
    public var spec: AnalysisTemplateSpec

    /// A namespaced template.
    public init(metadata: ObjectMeta, spec: AnalysisTemplateSpec) {
        apiVersion = argoAPIVersion
        kind = ResourceKind.analysisTemplate.rawValue
        self.metadata = metadata
        self.spec = spec
    }
}

/// A `ClusterAnalysisTemplate`: an AnalysisTemplate visible from every namespace.
public struct ClusterAnalysisTemplate: Codable, Sendable, Hashable {
    /// `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// `ClusterAnalysisTemplate`.
    public var kind: String
    /// The name (no namespace).
    public var metadata: ObjectMeta
    /// Metrics and arguments.
    public var spec: AnalysisTemplateSpec

    /// A cluster-wide template.
    public init(metadata: ObjectMeta, spec: AnalysisTemplateSpec) {
        apiVersion = argoAPIVersion
        kind = ResourceKind.clusterAnalysisTemplate.rawValue
        self.metadata = metadata
        self.spec = spec
    }
}

/// The metrics and arguments of an analysis template.
public struct AnalysisTemplateSpec: Codable, Sendable, Hashable {
    /// The metrics; may be empty when `templates` supplies them.
    public var metrics: [Metric]?
    /// The arguments; one without `value` must be supplied by the caller.
    public var args: [Argument]?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// Other templates whose metrics and arguments are merged in.
    public var templates: [AnalysisTemplateRef]?

    /// A spec with the given metrics and arguments.
    public init(metrics: [Metric]? = nil, args: [Argument]? = nil) {
        self.metrics = metrics
        self.args = args
    }

    /// The metrics, empty when absent.
    public var metricsOrEmpty: [Metric] { metrics ?? [] }
}

/// A reference from a template to another template it includes.
public struct AnalysisTemplateRef: Codable, Sendable, Hashable {
    /// The template's name.
    public var templateName: String?
    /// Whether the name refers to a ClusterAnalysisTemplate.
    public var clusterScope: Bool?

    /// A reference to the named template.
    public init(templateName: String? = nil, clusterScope: Bool? = nil) {
        self.templateName = templateName
        self.clusterScope = clusterScope
    }
}

/// One metric: what to measure, how often, and what counts as success.
public struct Metric: Codable, Sendable, Hashable {
    /// The metric's name, unique in the run.
    public var name: String
    /// Time between measurements; absent with `count` unset means one measurement.
    public var interval: ArgoDuration?
    /// Time to wait before the first measurement.
    public var initialDelay: ArgoDuration?
    /// Measurements to take (> 1 needs `interval`); may be templated (`"{{args.count}}"`).
    public var count: IntOrString?
    /// An expression that marks a measurement Successful (e.g. `result[0] >= 0.95`).
    public var successCondition: String?
    /// An expression that marks a measurement Failed.
    public var failureCondition: String?
    /// Failed measurements tolerated (default 0; -1 disables).
    public var failureLimit: IntOrString?
    /// Inconclusive measurements tolerated (default 0).
    public var inconclusiveLimit: IntOrString?
    /// Consecutive errors tolerated (default 4).
    public var consecutiveErrorLimit: IntOrString?
    /// Consecutive successes that complete the metric (default 0 = off).
    public var consecutiveSuccessLimit: IntOrString?
    /// Where measurements come from; exactly one member is set.
    public var provider: MetricProvider

    /// A metric with a provider and conditions.
    public init(
        name: String, provider: MetricProvider, successCondition: String? = nil, failureCondition: String? = nil,
        interval: ArgoDuration? = nil, count: IntOrString? = nil, failureLimit: IntOrString? = nil
    ) {
        self.name = name
        self.provider = provider
        self.successCondition = successCondition
        self.failureCondition = failureCondition
        self.interval = interval
        self.count = count
        self.failureLimit = failureLimit
    }

    /// Measurements to take, nil when absent or not (yet) an integer.
    public var countValue: Int? { count?.intValue }
    /// Failed measurements tolerated, 0 when absent (-1 disables the limit).
    public var failureLimitOrDefault: Int { failureLimit?.intValue ?? 0 }
    /// Inconclusive measurements tolerated, 0 when absent.
    public var inconclusiveLimitOrDefault: Int { inconclusiveLimit?.intValue ?? 0 }
    /// Consecutive errors tolerated, 4 when absent.
    public var consecutiveErrorLimitOrDefault: Int { consecutiveErrorLimit?.intValue ?? 4 }
    /// Consecutive successes that complete the metric, 0 (off) when absent.
    public var consecutiveSuccessLimitOrDefault: Int { consecutiveSuccessLimit?.intValue ?? 0 }
}

/// Where a metric's measurements come from; exactly one member is set.
public struct MetricProvider: Codable, Sendable, Hashable {
    /// A Prometheus query.
    public var prometheus: PrometheusMetric?
    /// An HTTP request whose JSON response is the result.
    public var web: WebMetric?
    /// A job whose exit status is the result.
    public var job: JobMetric?
    /// Kayenta, kept opaque.
    public var kayenta: JSONValue?
    /// Datadog, kept opaque.
    public var datadog: JSONValue?
    /// New Relic, kept opaque.
    public var newRelic: JSONValue?
    /// Wavefront, kept opaque.
    public var wavefront: JSONValue?
    /// CloudWatch, kept opaque.
    public var cloudWatch: JSONValue?
    /// Graphite, kept opaque.
    public var graphite: JSONValue?
    /// InfluxDB, kept opaque.
    public var influxdb: JSONValue?
    /// SkyWalking, kept opaque.
    public var skywalking: JSONValue?
    /// Metric plugins, kept opaque.
    public var plugin: JSONValue?

    /// A provider; set one member.
    public init(prometheus: PrometheusMetric? = nil, web: WebMetric? = nil, job: JobMetric? = nil) {
        self.prometheus = prometheus
        self.web = web
        self.job = job
    }

    /// The names of the members that are set (a valid provider has exactly one).
    public var setKeys: [String] {
        let members: [(String, Bool)] = [
            ("prometheus", prometheus != nil), ("web", web != nil), ("job", job != nil),
            ("kayenta", kayenta != nil), ("datadog", datadog != nil), ("newRelic", newRelic != nil),
            ("wavefront", wavefront != nil), ("cloudWatch", cloudWatch != nil), ("graphite", graphite != nil),
            ("influxdb", influxdb != nil), ("skywalking", skywalking != nil), ("plugin", plugin != nil),
        ]
        return members.filter(\.1).map(\.0)
    }
}

/// A Prometheus query; a vector or matrix result becomes a list of floats, a scalar a float.
public struct PrometheusMetric: Codable, Sendable, Hashable {
    /// The Prometheus base URL, `http://127.0.0.1:9090`.
    public var address: String?
    /// The PromQL query (may hold `{{args.name}}`).
    public var query: String?
    /// Query timeout in seconds (default 30).
    public var timeout: Int?
    /// Skip TLS verification.
    public var insecure: Bool?
    /// Extra request headers.
    public var headers: [WebMetricHeader]?
    /// Run a range query instead of an instant query.
    public var rangeQuery: PrometheusRangeQueryArgs?
    /// Authentication (basicAuth, oauth2, sigv4), kept opaque.
    public var authentication: JSONValue?

    /// A query against `address`.
    public init(address: String? = nil, query: String? = nil, timeout: Int? = nil) {
        self.address = address
        self.query = query
        self.timeout = timeout
    }

    /// The query timeout in seconds, 30 when absent.
    public var timeoutOrDefault: Int { timeout ?? 30 }
}

/// The range of a Prometheus range query (expressions such as `now() - duration("5m")`).
public struct PrometheusRangeQueryArgs: Codable, Sendable, Hashable {
    /// The start time expression.
    public var start: String?
    /// The end time expression.
    public var end: String?
    /// The resolution step, `1m`.
    public var step: String?

    /// A range.
    public init(start: String? = nil, end: String? = nil, step: String? = nil) {
        self.start = start
        self.end = end
        self.step = step
    }
}

/// One HTTP header of a web or Prometheus metric.
public struct WebMetricHeader: Codable, Sendable, Hashable {
    /// The header's name.
    public var key: String
    /// The header's value.
    public var value: String

    /// A header.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// An HTTP request whose JSON response (at `jsonPath`) is the result.
public struct WebMetric: Codable, Sendable, Hashable {
    /// `GET` (default), `POST` or `PUT`.
    public var method: String?
    /// The URL (may hold `{{args.name}}`).
    public var url: String
    /// Request headers.
    public var headers: [WebMetricHeader]?
    /// A request body as text.
    public var body: String?
    /// A request body as JSON.
    public var jsonBody: JSONValue?
    /// Timeout in seconds (default 10).
    public var timeoutSeconds: Int?
    /// The part of the response that is the result (default `{$}`).
    public var jsonPath: String?
    /// Skip TLS verification.
    public var insecure: Bool?
    /// `oauth2{tokenUrl,clientId,clientSecret,scopes}`: a bearer token from a client-credentials grant.
    public var authentication: JSONValue?

    /// A request to `url`.
    public init(url: String, method: String? = nil, jsonPath: String? = nil) {
        self.url = url
        self.method = method
        self.jsonPath = jsonPath
    }

    /// The HTTP method, `GET` when absent.
    public var methodOrDefault: String { method ?? "GET" }
    /// The timeout in seconds, 10 when absent.
    public var timeoutSecondsOrDefault: Int { timeoutSeconds ?? 10 }
    /// The result's path in the response, `{$}` when absent.
    public var jsonPathOrDefault: String { jsonPath ?? "{$}" }
}

/// A job: success when it exits 0. Locally its pod template's first container is run as a process.
public struct JobMetric: Codable, Sendable, Hashable {
    /// Labels and annotations of the job.
    public var metadata: PodTemplateMetadata?
    /// The job spec.
    public var spec: JobSpec

    /// A job with the given spec.
    public init(metadata: PodTemplateMetadata? = nil, spec: JobSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// The fields of a Kubernetes `batch/v1` JobSpec that Aviary uses.
public struct JobSpec: Codable, Sendable, Hashable {
    /// The pod that runs the job.
    public var template: PodTemplateSpec
    /// Retries before the job fails (Kubernetes default 6).
    public var backoffLimit: Int?
    /// Seconds after which the job is stopped and fails.
    public var activeDeadlineSeconds: Int?
    /// Seconds a finished job is kept.
    public var ttlSecondsAfterFinished: Int?
    /// Successful pods needed (default 1).
    public var completions: Int?
    /// Pods run at once (default 1).
    public var parallelism: Int?

    /// A job running `template`.
    public init(template: PodTemplateSpec, backoffLimit: Int? = nil) {
        self.template = template
        self.backoffLimit = backoffLimit
    }

    /// Retries before the job fails, 6 when absent.
    public var backoffLimitOrDefault: Int { backoffLimit ?? 6 }
}

/// A template argument: a default `value`, a `valueFrom` source, or neither (must be supplied).
public struct Argument: Codable, Sendable, Hashable {
    /// The argument's name, used as `{{args.name}}`.
    public var name: String
    /// The value (a default in a template).
    public var value: String?
    /// A secret or field the value comes from.
    public var valueFrom: ValueFrom?

    /// An argument with an optional value.
    public init(name: String, value: String? = nil, valueFrom: ValueFrom? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }

    /// Whether the caller must supply the value.
    public var isRequired: Bool { value == nil && valueFrom == nil }
}

/// Where a template argument's value comes from.
public struct ValueFrom: Codable, Sendable, Hashable {
    /// A key of a Secret; its value is redacted as `*****` in messages.
    public var secretKeyRef: SecretKeySelector?
    /// A field of the owning object.
    public var fieldRef: FieldRef?

    /// A source; set one member.
    public init(secretKeyRef: SecretKeySelector? = nil, fieldRef: FieldRef? = nil) {
        self.secretKeyRef = secretKeyRef
        self.fieldRef = fieldRef
    }
}

/// A key of a Secret.
public struct SecretKeySelector: Codable, Sendable, Hashable {
    /// The Secret's name.
    public var name: String
    /// The key in the Secret.
    public var key: String

    /// A key of the named Secret.
    public init(name: String, key: String) {
        self.name = name
        self.key = key
    }
}

/// A metric whose results do not affect the run's phase (`metricName: "*"` for all).
public struct DryRun: Codable, Sendable, Hashable {
    /// The metric's name, or a regular expression such as `.*`.
    public var metricName: String

    /// A dry-run entry.
    public init(metricName: String) { self.metricName = metricName }
}

/// How many measurements of a metric to keep (default 10).
public struct MeasurementRetention: Codable, Sendable, Hashable {
    /// The metric's name, or a regular expression.
    public var metricName: String
    /// Measurements kept.
    public var limit: Int

    /// A retention entry.
    public init(metricName: String, limit: Int) {
        self.metricName = metricName
        self.limit = limit
    }
}
