import AviaryCore
import AviaryJSON
import AviaryKubernetes
import AviaryMetrics
import AviaryModel
import Foundation
import Logging

/// A job metric on a cluster, as Argo Rollouts' job provider runs it: a `batch/v1` Job in the
/// run's namespace, owned by the AnalysisRun, whose `Complete` condition makes the measurement
/// Successful and whose `Failed` condition makes it Failed. The pure part: the Job's object and
/// how its status reads.
public enum MetricJob {
    /// The Job's annotation naming its AnalysisRun.
    public static let runNameAnnotation = "analysisrun.argoproj.io/name"
    /// The Job's annotation naming its metric.
    public static let metricAnnotation = "analysisrun.argoproj.io/metric-name"
    /// The Job's label holding its AnalysisRun's uid.
    public static let runUIDLabel = "analysisrun.argoproj.io/uid"
    /// The measurement's metadata key naming the Job.
    public static let jobNameKey = "job-name"

    /// `RUN-UID.METRIC.N`, as Argo names it: N is the metric's measurements so far plus one, so a
    /// measurement taken again after a controller restart finds the Job it created. Lowercased, with
    /// what a DNS subdomain cannot hold replaced by `-`, and at most 63 characters (the Job
    /// controller puts the name in a pod label).
    public static func name(runUID: String?, runName: String, metric: String, number: Int) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        func clean(_ text: String) -> String {
            String(text.lowercased().map { allowed.contains($0) ? $0 : "-" })
        }
        let prefix = clean(runUID ?? runName)
        let suffix = ".\(number)"
        let room = max(1, 63 - prefix.count - 1 - suffix.count)
        var metricPart = String(clean(metric).prefix(room))
        while metricPart.hasSuffix("-") || metricPart.hasSuffix(".") { metricPart.removeLast() }
        return "\(prefix).\(metricPart.isEmpty ? "metric" : metricPart)\(suffix)"
    }

    /// The Job for one measurement: the metric's `spec` as written, its `metadata` labels and
    /// annotations, Argo's annotations and uid label, and the AnalysisRun as controller owner.
    public static func object(for job: JobMetric, request: MeasurementRequest) throws -> KubernetesObject {
        let name = name(
            runUID: request.runUID, runName: request.runName, metric: request.metricName,
            number: request.measurementNumber)
        var labels = job.metadata?.labels ?? [:]
        var annotations = job.metadata?.annotations ?? [:]
        annotations[runNameAnnotation] = request.runName
        annotations[metricAnnotation] = request.metricName
        var metadata: [String: JSONValue] = [
            "name": .string(name), "namespace": .string(request.namespace),
        ]
        if let uid = request.runUID {
            labels[runUIDLabel] = uid
            metadata["ownerReferences"] = .array([
                .object([
                    "apiVersion": .string(argoAPIVersion), "kind": .string("AnalysisRun"),
                    "name": .string(request.runName), "uid": .string(uid), "controller": .bool(true),
                    "blockOwnerDeletion": .bool(true),
                ])
            ])
        }
        metadata["labels"] = .object(labels.mapValues { .string($0) })
        metadata["annotations"] = .object(annotations.mapValues { .string($0) })
        return try KubernetesObject(
            json: .object([
                "apiVersion": .string("batch/v1"), "kind": .string("Job"), "metadata": .object(metadata),
                "spec": try JSONValue(encoding: job.spec),
            ]))
    }

    /// Whether `job` was created for the run with `uid` (its controller owner), so a create that
    /// found it existing may adopt it.
    public static func isOwned(_ job: KubernetesObject, byRunUID uid: String?) -> Bool {
        guard let uid else { return false }
        return job.metadata.ownerReferences?.contains { $0.uid == uid && $0.controller == true } ?? false
    }

    /// The measurement a Job's status gives: Successful once `Complete` is true, Failed once
    /// `Failed` is true (with the condition's reason and message), nil while it runs.
    public static func outcome(of job: KubernetesObject) -> ProviderOutcome? {
        let name = job.metadata.name ?? ""
        let metadata = [jobNameKey: name]
        for condition in job.json["status"]?["conditions"]?.arrayValue ?? []
        where condition["status"]?.stringValue == "True" {
            let detail = [condition["reason"]?.stringValue, condition["message"]?.stringValue]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            switch condition["type"]?.stringValue {
            case "Complete":
                return .phase(.successful, message: "job \(name) completed", metadata: metadata)
            case "Failed":
                let reason = detail.isEmpty ? "" : " (\(detail))"
                return .phase(.failed, message: "job \(name) failed\(reason)", metadata: metadata)
            default:
                continue
            }
        }
        return nil
    }
}

/// The metric back ends of the controller on a cluster: Prometheus and web as on one host, and
/// job metrics as `batch/v1` Jobs (`MetricJob`) rather than processes of the controller.
public struct KubernetesMetricProviders: MeasurementProvider {
    /// Prometheus and web metrics.
    public var local: MetricProviders
    /// Creates, reads and deletes the Jobs.
    public let client: KubernetesClient
    /// How often a running Job is read.
    public var pollInterval: Duration
    /// How long a job metric without `activeDeadlineSeconds` may run.
    public var defaultJobTimeout: Duration
    let logger: Logger

    /// Providers over `client`.
    public init(
        client: KubernetesClient, local: MetricProviders = MetricProviders(), pollInterval: Duration = .seconds(2),
        defaultJobTimeout: Duration = .seconds(3600), logger: Logger = Logger(label: "aviary.jobs")
    ) {
        self.client = client
        self.local = local
        self.pollInterval = pollInterval
        self.defaultJobTimeout = defaultJobTimeout
        self.logger = logger
    }

    /// A job metric may run for its `activeDeadlineSeconds` plus a minute, so that the Job's own
    /// `Failed` condition (DeadlineExceeded) is what ends it; others as on one host.
    public func timeout(for metric: Metric) -> Duration {
        guard let job = metric.provider.job else { return local.timeout(for: metric) }
        return job.spec.activeDeadlineSeconds.map { .seconds(max(1, $0) + 60) } ?? defaultJobTimeout
    }

    /// Takes one measurement; a job metric creates (or adopts) its Job and waits for it to finish.
    public func measure(_ request: MeasurementRequest) async -> ProviderOutcome {
        guard let job = request.metric.provider.job else { return await local.measure(request) }
        let object: KubernetesObject
        do {
            object = try MetricJob.object(for: job, request: request)
        } catch {
            return .error("cannot build the job of metric \(request.metricName): \(error)")
        }
        let (namespace, name) = (request.namespace, object.metadata.name ?? "")
        do {
            _ = try await client.create(.jobs, namespace: namespace, object)
            logger.info("job \(namespace)/\(name) created for AnalysisRun \(request.runName)")
        } catch let error where error.isAlreadyExists {
            // Created before a restart of the controller: the same measurement, so it is adopted.
            guard let existing = try? await client.get(.jobs, namespace: namespace, name: name),
                MetricJob.isOwned(existing, byRunUID: request.runUID)
            else {
                return .error("job \(namespace)/\(name) exists and is not this AnalysisRun's; delete it to measure again")
            }
        } catch {
            return .error("cannot create job \(namespace)/\(name): \(error)")
        }
        while true {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                // The run was terminated or the measurement timed out: the Job is not needed any more.
                let client = self.client
                Task.detached { try? await client.delete(.jobs, namespace: namespace, name: name) }
                return .error("job \(namespace)/\(name) was stopped before it finished")
            }
            do {
                if let outcome = MetricJob.outcome(of: try await client.get(.jobs, namespace: namespace, name: name)) {
                    return outcome
                }
            } catch let error where error.isNotFound {
                return .error("job \(namespace)/\(name) was deleted before it finished")
            } catch {
                // A failed read is retried at the next poll; the timeout bounds the wait.
                logger.warning("cannot read job \(namespace)/\(name): \(error)")
            }
        }
    }
}
