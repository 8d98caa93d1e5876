import AviaryPlatform
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// The ELBv2 Query calls of Argo's ALB weight check: their form and signature, AWS's errors as the
/// Go SDK words them, and the answers of moto's Elastic Load Balancing.
@Suite struct ELBv2RequestTests {
    static let configuration = AWSConfiguration(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), region: "eu-west-1",
        endpoint: "http://127.0.0.1:4566")

    @Test func aCallIsASignedFormPost() {
        let request = ELBv2Client.request(
            "DescribeTags", [("ResourceArns.member.1", "arn:a/b"), ("ResourceArns.member.2", "arn:c")],
            configuration: Self.configuration, signedAt: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(request.url == "http://127.0.0.1:4566/")
        #expect(
            String(decoding: request.body ?? Data(), as: UTF8.self)
                == "Action=DescribeTags&Version=2015-12-01&ResourceArns.member.1=arn%3Aa%2Fb&ResourceArns.member.2=arn%3Ac"
        )
        let authorization = request.headers.first { $0.0 == "Authorization" }?.1 ?? ""
        #expect(
            authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/elasticloadbalancing/aws4_request"))
        #expect(request.headers.contains { $0 == ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8") })
    }

    @Test func anErrorIsWordedAsTheGoSDKWordsIt() {
        let body = """
            <ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
              <Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>One or more load balancers not found</Message></Error>
              <RequestId>req-7</RequestId>
            </ErrorResponse>
            """
        #expect(
            throws: ELBv2Error(
                "operation error Elastic Load Balancing v2: DescribeListeners, https response error StatusCode: 400, "
                    + "RequestID: req-7, LoadBalancerNotFound: One or more load balancers not found")
        ) { try ELBv2Client.read("DescribeListeners", status: 400, body: Data(body.utf8)) }
        #expect(
            throws: ELBv2Error(
                "operation error Elastic Load Balancing v2: DescribeRules, deserialization failed: not xml")
        ) { try ELBv2Client.read("DescribeRules", status: 200, body: Data("not xml".utf8)) }
    }

    @Test func withoutAKeyTheErrorSaysWhatToSet() async {
        let client = ELBv2Client(environment: ["HOME": "/nonexistent", "AWS_REGION": "us-east-1"])
        await #expect {
            _ = try await client.loadBalancer(dnsName: "x")
        } throws: { error in
            "\(error)".hasPrefix("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
    }
}

/// Against moto's Elastic Load Balancing (`moto_server` on a loopback port): a load balancer as
/// the AWS Load Balancer Controller makes one, found by its DNS name, with its target groups'
/// tags (more than one `DescribeTags` call's worth) and the weights of its listener.
@Suite(.serialized, .enabled(if: MotoServer.isRequired, "moto is not installed"))
struct ELBv2ClientTests {
    @Test func theLoadBalancerAndItsTargetGroupsWeights() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let services = ["web-stable", "web-canary"] + (1...21).map { "exp-\($0)" }
        let balancer = try moto.createLoadBalancer(
            name: "k8s-shop-web", namespace: "shop", ingress: "web", services: services, port: 8080)
        let client = ELBv2Client(environment: moto.environment)
        let found = try #require(try await client.loadBalancer(dnsName: balancer.dnsName))
        #expect(
            found == ElasticLoadBalancer(name: "k8s-shop-web", arn: balancer.loadBalancerArn, dnsName: balancer.dnsName)
        )
        #expect(try await client.loadBalancer(dnsName: "elsewhere.elb.amazonaws.com") == nil)

        var groups = try await client.targetGroups(loadBalancerARN: found.arn)
        #expect(groups.count == services.count)
        for service in services {
            let group = groups.first { $0.arn == balancer.targetGroups[service] }
            #expect(group?.tags == ["ingress.k8s.aws/resource": "shop/web-\(service):8080"], "\(service)")
            #expect(group?.weight == (service == "web-stable" ? 100 : 0), "\(service)")
        }
        #expect(groups.first { $0.arn == balancer.targetGroups["web-canary"] }?.name == "k8s-shop-web-web-canary")

        try moto.setWeights(balancer, ["web-stable": 90, "web-canary": 10])
        groups = try await client.targetGroups(loadBalancerARN: found.arn)
        #expect(groups.first { $0.arn == balancer.targetGroups["web-canary"] }?.weight == 10)
        #expect(groups.first { $0.arn == balancer.targetGroups["exp-1"] }?.weight == nil, "no longer forwarded to")
    }

    @Test func anUnreachableEndpointIsNamed() async throws {
        var environment = [
            "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1", "HOME": "/nonexistent",
        ]
        environment["AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"] = "http://127.0.0.1:\(try freePort())"
        await #expect {
            _ = try await ELBv2Client(environment: environment).loadBalancer(dnsName: "x")
        } throws: { error in
            "\(error)".hasPrefix(
                "operation error Elastic Load Balancing v2: DescribeLoadBalancers, https response error StatusCode: 0, "
                    + "request send failed, ")
        }
    }
}
