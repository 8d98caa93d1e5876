import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Temporary keys served over HTTP, the last links of the AWS SDK's chain: EKS Pod Identity's (or
/// ECS's) container endpoint, and the EC2 instance role through IMDSv2. Each is played by a
/// loopback server answering as AWS documents it; ELBv2 calls are then signed with the keys.
@Suite(.serialized) struct RemoteCredentialsTests {
    static let keys = #"""
        {"Code": "Success", "AccessKeyId": "ASIAREMOTE", "SecretAccessKey": "remote-secret", "Token": "remote-token",
         "Expiration": "2099-01-01T00:00:00Z"}
        """#
    static let emptyDescribe =
        "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers/>"
        + "</DescribeLoadBalancersResult></DescribeLoadBalancersResponse>"

    static func signedWithRemoteKeys(_ requests: [LoopbackServer.Request]) -> Bool {
        requests.contains {
            $0.body.contains("Action=DescribeLoadBalancers")
                && ($0.headers["authorization"] ?? "").contains("Credential=ASIAREMOTE/")
                && $0.headers["x-amz-security-token"] == "remote-token"
        }
    }

    @Test func podIdentitysEndpointIsAskedWithItsTokenFile() async throws {
        let server = try LoopbackServer { request in
            if request.path == "/v1/credentials" {
                return request.headers["authorization"] == "pod-identity-token"
                    ? .respond(status: 200, body: Self.keys) : .respond(status: 401, body: "{}")
            }
            return .respond(status: 200, body: Self.emptyDescribe, contentType: "text/xml")
        }
        defer { server.stop() }
        let tokenFile = NSTemporaryDirectory() + "aviary-pod-identity-" + UUID().uuidString
        try "pod-identity-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let client = ELBv2Client(environment: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_REGION": "us-east-1", "HOME": "/nowhere",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)",
        ])
        #expect(try await client.loadBalancer(dnsName: "x") == nil)
        #expect(try await client.loadBalancer(dnsName: "x") == nil)
        #expect(server.requests.filter { $0.path == "/v1/credentials" }.count == 1, "kept until it expires")
        #expect(Self.signedWithRemoteKeys(server.requests))
    }

    @Test func theInstanceRoleIsReadWithAnIMDSv2Session() async throws {
        let server = try LoopbackServer { request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
                    ? .respond(status: 200, body: "imds-session", contentType: "text/plain")
                    : .respond(status: 400, body: "")
            case ("GET", let path) where path.hasPrefix("/latest/meta-data/iam/security-credentials/"):
                guard request.headers["x-aws-ec2-metadata-token"] == "imds-session" else {
                    return .respond(status: 401, body: "")
                }
                return path.hasSuffix("/")
                    ? .respond(status: 200, body: "aviary-node-role\n", contentType: "text/plain")
                    : path.hasSuffix("/aviary-node-role")
                        ? .respond(status: 200, body: Self.keys) : .respond(status: 404, body: "")
            default:
                return .respond(status: 200, body: Self.emptyDescribe, contentType: "text/xml")
            }
        }
        defer { server.stop() }
        let client = ELBv2Client(environment: [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(server.port)/", "AWS_REGION": "us-east-1",
            "HOME": "/nowhere", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)",
        ])
        #expect(try await client.loadBalancer(dnsName: "x") == nil)
        #expect(Self.signedWithRemoteKeys(server.requests))
        #expect(server.requests.first?.method == "PUT", "IMDSv2: the session token first")
    }

    @Test func withNothingToAskTheErrorSaysWhatToSet() async {
        // No instance metadata service answers (as off EC2), then none is asked.
        for (environment, end) in [
            (["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"], "provides them"),
            (["AWS_EC2_METADATA_DISABLED": "true"], "(AWS_EC2_METADATA_DISABLED is true)"),
        ] {
            let client = ELBv2Client(
                environment: environment.merging(["HOME": "/nowhere", "AWS_REGION": "us-east-1"]) { $1 })
            await #expect {
                _ = try await client.loadBalancer(dnsName: "x")
            } throws: { error in
                "\(error)".hasPrefix("no AWS credentials: ") && "\(error)".hasSuffix(end)
                    && "\(error)".contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
        }
    }
}
