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
        let client = ELBv2Client(environment: [
            "HOME": "/nonexistent", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        ])
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

/// EKS's IAM roles for service accounts: with `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`
/// (and no keys), STS's `AssumeRoleWithWebIdentity` gives the keys the calls are signed with.
@Suite(.serialized) struct WebIdentityTests {
    static func tokenFile(_ token: String) throws -> String {
        let path = NSTemporaryDirectory() + "aviary-token-" + UUID().uuidString
        try token.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theRoleAndTokenFileAreReadFromTheEnvironment() throws {
        let configuration = try AWSConfiguration.resolve(
            service: "elasticloadbalancing", serviceID: "Elastic Load Balancing v2",
            environment: [
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/aviary", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/token",
                "AWS_ROLE_SESSION_NAME": "controller", "AWS_REGION": "eu-west-1", "HOME": "/nowhere",
            ], readFile: { _ in nil })
        #expect(
            configuration.webIdentity
                == AWSConfiguration.WebIdentity(
                    roleARN: "arn:aws:iam::123456789012:role/aviary", tokenFile: "/var/token",
                    sessionName: "controller", endpoint: "https://sts.eu-west-1.amazonaws.com"))
        // Keys in the environment come first.
        let keys = try AWSConfiguration.resolve(
            service: "elasticloadbalancing", serviceID: "Elastic Load Balancing v2",
            environment: [
                "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ROLE_ARN": "r",
                "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_REGION": "eu-west-1",
            ], readFile: { _ in nil })
        #expect(keys.webIdentity == nil)
    }

    @Test func callsAreSignedWithTheKeysSTSGivesOnceAndKept() async throws {
        let server = try LoopbackServer { request in
            if request.body.contains("Action=AssumeRoleWithWebIdentity") {
                return .respond(
                    status: 200,
                    body: """
                        <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                          <AssumeRoleWithWebIdentityResult><Credentials>
                            <AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>temporary</SecretAccessKey>
                            <SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>
                          </Credentials></AssumeRoleWithWebIdentityResult>
                        </AssumeRoleWithWebIdentityResponse>
                        """, contentType: "text/xml")
            }
            return .respond(
                status: 200,
                body: "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers/>"
                    + "</DescribeLoadBalancersResult></DescribeLoadBalancersResponse>", contentType: "text/xml")
        }
        defer { server.stop() }
        let token = try Self.tokenFile("eyJ.token.sig\n")
        defer { try? FileManager.default.removeItem(atPath: token) }
        let client = ELBv2Client(environment: [
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/aviary", "AWS_WEB_IDENTITY_TOKEN_FILE": token,
            "AWS_ROLE_SESSION_NAME": "controller", "AWS_REGION": "us-east-1", "HOME": "/nowhere",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)",
        ])
        #expect(try await client.loadBalancer(dnsName: "x") == nil)
        #expect(try await client.loadBalancer(dnsName: "x") == nil)
        let requests = server.requests
        #expect(requests.filter { $0.body.contains("AssumeRoleWithWebIdentity") }.count == 1, "kept until it expires")
        #expect(
            requests.first?.body
                == "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3A"
                + "role%2Faviary&RoleSessionName=controller&WebIdentityToken=eyJ.token.sig")
        let calls = requests.filter { $0.body.contains("DescribeLoadBalancers") }
        #expect(calls.count == 2)
        for call in calls {
            let headers = Dictionary(uniqueKeysWithValues: call.headers.map { ($0.key.lowercased(), $0.value) })
            #expect(headers["authorization"]?.contains("Credential=ASIAEXAMPLE/") == true, "\(headers)")
            #expect(headers["x-amz-security-token"] == "session-token")
        }
    }

    @Test(.enabled(if: MotoServer.isRequired, "moto is not installed"))
    func motosSTSGivesTheKeys() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let token = try Self.tokenFile("eyJ.token.sig")
        defer { try? FileManager.default.removeItem(atPath: token) }
        let configuration = try AWSConfiguration.resolve(
            service: "monitoring", serviceID: "CloudWatch",
            environment: [
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/aviary-moto", "AWS_WEB_IDENTITY_TOKEN_FILE": token,
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto.endpoint, "HOME": "/nowhere",
            ], readFile: { _ in nil })
        let signing = try await configuration.signing()
        #expect(!signing.credentials.accessKeyID.isEmpty)
        #expect(!signing.credentials.secretAccessKey.isEmpty)
        #expect(signing.credentials.sessionToken?.isEmpty == false)
    }

    @Test func aRefusalIsWordedAsTheSDKWordsIt() async throws {
        let server = try LoopbackServer { _ in
            .respond(
                status: 403,
                body: "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to "
                    + "perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
                contentType: "text/xml")
        }
        defer { server.stop() }
        let token = try Self.tokenFile("t")
        defer { try? FileManager.default.removeItem(atPath: token) }
        let client = ELBv2Client(environment: [
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/denied", "AWS_WEB_IDENTITY_TOKEN_FILE": token,
            "AWS_REGION": "us-east-1", "HOME": "/nowhere", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)",
        ])
        await #expect(
            throws: ELBv2Error(
                "operation error STS: AssumeRoleWithWebIdentity, https response error StatusCode: 403, RequestID: r-1, "
                    + "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity")
        ) { _ = try await client.loadBalancer(dnsName: "x") }
    }
}
