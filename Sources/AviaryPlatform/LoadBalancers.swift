import AviaryModel

/// An AWS Application Load Balancer, as ELBv2's `DescribeLoadBalancers` lists it.
public struct ElasticLoadBalancer: Sendable, Hashable {
    public var name: String
    public var arn: String
    public var dnsName: String

    public init(name: String, arn: String, dnsName: String) {
        self.name = name
        self.arn = arn
        self.dnsName = dnsName
    }
}

/// A target group of a load balancer: its tags, and the weight a listener rule's forward action
/// gives it (nil when no forward action names it).
public struct ElasticTargetGroup: Sendable, Hashable {
    public var name: String
    public var arn: String
    public var tags: [String: String]
    public var weight: Int?

    public init(name: String, arn: String, tags: [String: String] = [:], weight: Int? = nil) {
        self.name = name
        self.arn = arn
        self.tags = tags
        self.weight = weight
    }
}

/// What the ALB weight check reads of AWS (Argo's `--aws-verify-target-group`): a load balancer
/// by the DNS name an Ingress's status gives, and its target groups with their weights.
public protocol ElasticLoadBalancing: Sendable {
    /// The load balancer with this DNS name; nil when the account has none.
    func loadBalancer(dnsName: String) async throws -> ElasticLoadBalancer?
    /// The load balancer's target groups, with their tags and their weights in its listeners' rules.
    func targetGroups(loadBalancerARN: String) async throws -> [ElasticTargetGroup]
    /// The targets registered in a target group, as `ID:PORT` (an IP target's address and port).
    func registeredTargets(targetGroupARN: String) async throws -> [String]
}

/// Whether the pods behind a Service are registered in the AWS target groups its
/// TargetGroupBindings bind (Argo's check before a new version is marked stable or an old one
/// scaled down): nil when no IP-mode TargetGroupBinding binds the Service, with the events Argo
/// sends of the check.
public struct TargetVerification: Sendable, Hashable {
    public var verified: Bool?
    public var events: [VerificationEvent]

    public init(verified: Bool?, events: [VerificationEvent] = []) {
        self.verified = verified
        self.events = events
    }
}

/// Whether the router serves the weights last applied (`status.canary.weights.verified`; nil when
/// it cannot say), and for an ALB the load balancers and target groups found on the way
/// (`status.albs`, nil when none was looked at) and the events Argo sends of the check.
public struct WeightVerification: Sendable, Hashable {
    public var verified: Bool?
    public var loadBalancers: [ALBStatus]?
    public var events: [VerificationEvent]

    public init(verified: Bool?, loadBalancers: [ALBStatus]? = nil, events: [VerificationEvent] = []) {
        self.verified = verified
        self.loadBalancers = loadBalancers
        self.events = events
    }
}

/// An event of a weight check (`TargetGroupVerified`, `TargetGroupUnverified`,
/// `TargetGroupVerifyError`, `LoadBalancerNotFound`).
public struct VerificationEvent: Sendable, Hashable {
    public var warning: Bool
    public var reason: String
    public var message: String

    public init(warning: Bool, reason: String, message: String) {
        self.warning = warning
        self.reason = reason
        self.message = message
    }
}
