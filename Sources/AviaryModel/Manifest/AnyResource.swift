import AviaryMeta
/// One decoded manifest of any kind Aviary reads.
public enum AnyResource: Sendable, Hashable, Encodable {
    /// A `Rollout`.
    case rollout(Rollout)
    /// An `AnalysisTemplate`.
    case analysisTemplate(AnalysisTemplate)
    /// A `ClusterAnalysisTemplate`.
    case clusterAnalysisTemplate(ClusterAnalysisTemplate)
    /// An `AnalysisRun`.
    case analysisRun(AnalysisRun)
    /// An `Experiment`.
    case experiment(Experiment)
    /// A core `v1` `Service`.
    case service(Service)
    /// A core `v1` `ConfigMap`.
    case configMap(ConfigMap)
    /// A core `v1` `Secret`.
    case secret(Secret)
    /// An `apps/v1` `Deployment` or a `v1` `PodTemplate`, read for a Rollout's `workloadRef`.
    case workload(Workload)

    /// The resource's kind, `Rollout`.
    public var kind: ResourceKind {
        switch self {
        case .rollout: .rollout
        case .analysisTemplate: .analysisTemplate
        case .clusterAnalysisTemplate: .clusterAnalysisTemplate
        case .analysisRun: .analysisRun
        case .experiment: .experiment
        case .service: .service
        case .configMap: .configMap
        case .secret: .secret
        case .workload(let value): value.kind.flatMap(ResourceKind.init(rawValue:)) ?? .deployment
        }
    }

    /// The resource's metadata.
    public var metadata: ObjectMeta {
        switch self {
        case .rollout(let value): value.metadata
        case .analysisTemplate(let value): value.metadata
        case .clusterAnalysisTemplate(let value): value.metadata
        case .analysisRun(let value): value.metadata
        case .experiment(let value): value.metadata
        case .service(let value): value.metadata
        case .configMap(let value): value.metadata
        case .secret(let value): value.metadata
        case .workload(let value): value.metadata
        }
    }

    /// The resource's name, empty when it has none.
    public var name: String { metadata.name ?? "" }

    /// `Kind/name`, as `kubectl` prints it.
    public var reference: String { "\(kind)/\(name)" }

    /// Encodes the wrapped resource as it stands alone.
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .rollout(let value): try value.encode(to: encoder)
        case .analysisTemplate(let value): try value.encode(to: encoder)
        case .clusterAnalysisTemplate(let value): try value.encode(to: encoder)
        case .analysisRun(let value): try value.encode(to: encoder)
        case .experiment(let value): try value.encode(to: encoder)
        case .service(let value): try value.encode(to: encoder)
        case .configMap(let value): try value.encode(to: encoder)
        case .secret(let value): try value.encode(to: encoder)
        case .workload(let value): try value.encode(to: encoder)
        }
    }
}
