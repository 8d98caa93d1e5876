import Foundation

/// moto (PyPI's AWS service double, `moto_server`), started on a loopback port and stopped: the
/// CloudWatch and Elastic Load Balancing the AWS tests call.
public final class MotoServer: Sendable {
    public let endpoint: String
    private let directory: String
    private let process: WatchedProcess

    public static var executable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return paths.map { $0 + "/moto_server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    /// Where it is installed, and always under CI, which installs it (a missing one fails there).
    public static var isRequired: Bool { executable != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    public init() async throws {
        guard let executable = Self.executable else {
            throw TestSupportFailure("moto is not installed: pip install 'moto[server]'")
        }
        directory = NSTemporaryDirectory() + "aviary-moto-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        endpoint = "http://127.0.0.1:\(try freePort())"
        process = try WatchedProcess(
            [executable, "-H", "127.0.0.1", "-p", String(endpoint.split(separator: ":").last ?? "")],
            directory: directory, name: "moto")
        let endpoint = endpoint
        let up = await eventually(within: 60) {
            await http(.GET, endpoint + "/moto-api/", timeout: 5)?.status == 200
        }
        if !up {
            let log = process.log
            stop()
            throw TestSupportFailure("moto did not start within 60 s:\n\(log)")
        }
    }

    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The environment that sends an AWS SDK (boto3, or Aviary) to this moto, with AWS's example key.
    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
            "HOME": "/nonexistent",
        ]
    }

    /// An Application Load Balancer as the AWS Load Balancer Controller makes one for an Ingress:
    /// a target group per Service tagged `ingress.k8s.aws/resource: NAMESPACE/INGRESS-SERVICE:PORT`,
    /// and a listener forwarding 100 to the first Service and 0 to the others.
    public struct LoadBalancer: Sendable, Decodable {
        public var dnsName: String
        public var loadBalancerArn: String
        public var listenerArn: String
        /// The target group ARN of each Service.
        public var targetGroups: [String: String]
    }

    /// Makes the load balancer, its VPC, subnets, target groups and listener, through boto3.
    public func createLoadBalancer(
        name: String, namespace: String, ingress: String, services: [String], port: Int
    ) throws -> LoadBalancer {
        let output = try python(
            Self.createScript, [name, namespace, ingress, String(port)] + services)
        return try JSONDecoder().decode(LoadBalancer.self, from: Data(output.utf8))
    }

    /// Sets the listener's forward weights, as the AWS Load Balancer Controller does once it reads
    /// the Ingress's action annotation.
    public func setWeights(_ balancer: LoadBalancer, _ weights: [String: Int]) throws {
        let pairs = weights.sorted { $0.key < $1.key }.flatMap {
            [balancer.targetGroups[$0.key] ?? $0.key, String($0.value)]
        }
        _ = try python(Self.weightScript, [balancer.listenerArn] + pairs)
    }

    /// Makes an IP-mode target group (in a new VPC) and returns its ARN.
    public func createTargetGroup(name: String, port: Int) throws -> String {
        try python(Self.targetGroupScript, [name, String(port)]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Registers `IP:PORT` targets in a target group, as the AWS Load Balancer Controller does for
    /// a TargetGroupBinding's endpoints.
    public func registerTargets(_ targetGroupARN: String, _ targets: [String]) throws {
        _ = try python(Self.registerScript, [targetGroupARN] + targets)
    }

    private func python(_ script: String, _ arguments: [String]) throws -> String {
        let result = try runCommand(["/usr/bin/env", "python3", "-c", script] + arguments, environment: environment)
        guard result.status == 0 else { throw TestSupportFailure("boto3 against moto failed:\n\(result.output)") }
        return result.output
    }

    static let createScript = """
        import boto3, json, sys
        name, namespace, ingress, port, services = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
        ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
                   ["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
        lb = elb.create_load_balancer(Name=name, Subnets=subnets, Type="application")["LoadBalancers"][0]
        groups = {}
        for service in services:
            tg = elb.create_target_group(Name=f"{name}-{service}"[:32], Protocol="HTTP", Port=port, VpcId=vpc,
                                         TargetType="ip")["TargetGroups"][0]
            elb.add_tags(ResourceArns=[tg["TargetGroupArn"]],
                         Tags=[{"Key": "ingress.k8s.aws/resource", "Value": f"{namespace}/{ingress}-{service}:{port}"}])
            groups[service] = tg["TargetGroupArn"]
        tuples = [{"TargetGroupArn": arn, "Weight": 100 if i == 0 else 0} for i, arn in enumerate(groups.values())]
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                       DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": tuples}}])
        print(json.dumps({"dnsName": lb["DNSName"], "loadBalancerArn": lb["LoadBalancerArn"],
                          "listenerArn": listener["Listeners"][0]["ListenerArn"], "targetGroups": groups}))
        """

    static let targetGroupScript = """
        import boto3, sys
        vpc = boto3.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        print(boto3.client("elbv2").create_target_group(
            Name=sys.argv[1], Protocol="HTTP", Port=int(sys.argv[2]), VpcId=vpc, TargetType="ip")
            ["TargetGroups"][0]["TargetGroupArn"])
        """

    static let registerScript = """
        import boto3, sys
        targets = [{"Id": t.rsplit(":", 1)[0], "Port": int(t.rsplit(":", 1)[1])} for t in sys.argv[2:]]
        boto3.client("elbv2").register_targets(TargetGroupArn=sys.argv[1], Targets=targets)
        """

    static let weightScript = """
        import boto3, sys
        listener, pairs = sys.argv[1], sys.argv[2:]
        tuples = [{"TargetGroupArn": pairs[i], "Weight": int(pairs[i + 1])} for i in range(0, len(pairs), 2)]
        boto3.client("elbv2").modify_listener(
            ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": tuples}}])
        """
}
