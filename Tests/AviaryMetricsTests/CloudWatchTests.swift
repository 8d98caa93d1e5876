import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// The AWS credentials of these tests (AWS's documentation example key).
private let exampleCredentials = AWSCredentials(
    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

/// Signature Version 4 against known answers: AWS's own `get-vanilla` example, and CloudWatch
/// calls as botocore 1.43 (the AWS SDK for Python) signs them at the same instant.
@Suite struct AWSSignatureV4Tests {
    /// 2015-08-30 12:36:00 UTC, the instant of AWS's signature test suite.
    static let instant = Date(timeIntervalSince1970: 1_440_938_160)

    static func authorization(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "Authorization" }?.1
    }

    @Test func awsGetVanillaExample() {
        let added = AWSSignatureV4.sign(
            method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")], body: Data(),
            credentials: exampleCredentials, region: "us-east-1", service: "service", date: Self.instant)
        #expect(added.first { $0.0 == "X-Amz-Date" }?.1 == "20150830T123600Z")
        #expect(
            Self.authorization(added)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test(
        arguments: [
            (
                "monitoring.us-east-1.amazonaws.com", "us-east-1", nil, #"{"EndTime":1440938160}"#,
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                    + "Signature=d64cdee444dc89ffb170afb5bfc40e824c49e140a4bb2b41346fbd5d947e696e"
            ),
            // Temporary credentials sign their token too; a port is part of the host.
            (
                "127.0.0.1:4566", "eu-west-1", "session-token==", "{}",
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                    + "Signature=f96f226b50d590e172c7da1d8b960d926b1aeabd64b06f4fc4e02299863c6474"
            ),
        ] as [(String, String, String?, String, String)])
    func getMetricDataAsBotocoreSignsIt(host: String, region: String, token: String?, body: String, tail: String) {
        var credentials = exampleCredentials
        credentials.sessionToken = token
        let added = AWSSignatureV4.sign(
            method: "POST", path: "/",
            headers: [
                ("Host", host), ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "GraniteServiceVersion20100801.GetMetricData"),
            ], body: Data(body.utf8), credentials: credentials, region: region, service: "monitoring",
            date: Self.instant)
        #expect(
            Self.authorization(added)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/\(region)/monitoring/aws4_request, \(tail)")
        #expect(added.first { $0.0 == "X-Amz-Security-Token" }?.1 == token)
    }

    @Test func canonicalPiecesFollowTheSpecification() {
        #expect(AWSSignatureV4.encode("a b/c~d*") == "a%20b%2Fc~d%2A")
        #expect(AWSSignatureV4.canonicalQuery([("b", "2"), ("a", "z"), ("a", "1")]) == "a=1&a=z&b=2")
        #expect(AWSSignatureV4.canonicalPath("") == "/")
        #expect(AWSSignatureV4.canonicalPath("/a b/c") == "/a%20b/c")
        let headers = AWSSignatureV4.canonicalHeaders([("X-B", "  two   spaces "), ("x-a", "1"), ("X-A", "2")])
        #expect(headers.map { "\($0.name):\($0.value)" } == ["x-a:1,2", "x-b:two spaces"])
    }
}

/// Where the key, region and endpoint come from, in the AWS SDK's order.
@Suite struct AWSConfigurationTests {
    static let files = [
        "/home/u/.aws/credentials": """
        [default]
        aws_access_key_id = AKIDFILE
        aws_secret_access_key = secret-from-file
        # a comment
        [staging]
        aws_access_key_id=AKIDSTAGING
        aws_secret_access_key=staging-secret
        aws_session_token=staging-token
        """,
        "/home/u/.aws/config": """
        [default]
        region = eu-central-1
        [profile staging]
        region = ap-southeast-2
        """,
    ]

    static func resolve(_ environment: [String: String]) throws(AWSConfiguration.Missing) -> AWSConfiguration {
        try AWSConfiguration.resolve(
            service: "monitoring", serviceID: "CloudWatch",
            environment: ["HOME": "/home/u"].merging(environment) { $1 },
            readFile: { files[$0] })
    }

    @Test func theEnvironmentComesFirst() throws {
        let configuration = try Self.resolve([
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "t",
            "AWS_REGION": "us-west-2",
        ])
        #expect(
            configuration
                == AWSConfiguration(
                    credentials: AWSCredentials(
                        accessKeyID: "AKIDENV", secretAccessKey: "env-secret", sessionToken: "t"),
                    region: "us-west-2", endpoint: "https://monitoring.us-west-2.amazonaws.com"))
    }

    @Test func thenTheProfileOfTheSharedFiles() throws {
        let plain = try Self.resolve([:])
        #expect(plain.credentials == AWSCredentials(accessKeyID: "AKIDFILE", secretAccessKey: "secret-from-file"))
        #expect(plain.region == "eu-central-1")
        let staging = try Self.resolve(["AWS_PROFILE": "staging", "AWS_DEFAULT_REGION": "cn-north-1"])
        #expect(staging.credentials.sessionToken == "staging-token")
        #expect(staging.region == "cn-north-1")
        #expect(staging.endpoint == "https://monitoring.cn-north-1.amazonaws.com.cn")
    }

    @Test func anEndpointVariableSendsTheCallElsewhere() throws {
        #expect(try Self.resolve(["AWS_ENDPOINT_URL": "http://127.0.0.1:1"]).endpoint == "http://127.0.0.1:1")
        let specific = try Self.resolve([
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_CLOUDWATCH": "http://127.0.0.1:2",
        ])
        #expect(specific.endpoint == "http://127.0.0.1:2")
    }

    @Test func whatIsMissingIsNamedWithItsFix() {
        #expect {
            try AWSConfiguration.resolve(
                service: "monitoring", serviceID: "CloudWatch",
                environment: ["HOME": "/nowhere", "AWS_EC2_METADATA_DISABLED": "true"], readFile: { _ in nil })
        } throws: {
            "\($0)".hasPrefix("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                && "\($0)".contains("/nowhere/.aws/credentials")
        }
        #expect {
            try AWSConfiguration.resolve(
                service: "monitoring", serviceID: "CloudWatch",
                environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "HOME": "/nowhere"],
                readFile: { _ in nil })
        } throws: {
            "\($0)".hasPrefix("no AWS region: set AWS_REGION")
        }
    }
}

/// The pure parts: Argo's fields read with CloudWatch's rules, the request, the answer.
@Suite struct CloudWatchSpecTests {
    static func spec(_ yaml: String) throws(ProviderSpecError) -> CloudWatchSpec {
        try CloudWatchSpec(provider: metric("- name: m\n  provider:\n    cloudWatch:\n" + yaml).provider.cloudWatch)
    }

    /// Argo's documented example (docs/analysis/cloudwatch.md), as written there.
    static let argoExample = """
              interval: 30m
              metricDataQueries:
              - {
                  "id": "rate",
                  "expression": "errors / requests"
                }
              - {
                  "id": "errors",
                  "metricStat": {
                    "metric": {
                      "namespace": "app",
                      "metricName": "errors"
                    },
                    "period": 300,
                    "stat": "Sum",
                    "unit": "Count"
                  },
                  "returnData": false
                }
        """

    @Test func argosExampleBecomesTheRequest() throws {
        let spec = try Self.spec(Self.argoExample)
        #expect(spec.intervalSeconds == 1800)
        let end = Date(timeIntervalSince1970: 1_796_512_000.7)
        let expected: JSONValue = .object([
            "StartTime": .integer(1_796_510_200), "EndTime": .integer(1_796_512_000),
            "MetricDataQueries": .array([
                .object(["Id": .string("rate"), "Expression": .string("errors / requests")]),
                .object([
                    "Id": .string("errors"), "ReturnData": .bool(false),
                    "MetricStat": .object([
                        "Metric": .object(["Namespace": .string("app"), "MetricName": .string("errors")]),
                        "Period": .integer(300), "Stat": .string("Sum"), "Unit": .string("Count"),
                    ]),
                ]),
            ]),
        ])
        #expect(spec.request(end: end) == expected)
    }

    @Test func aBacktestQueriesThePastButSignsNow() throws {
        let spec = try Self.spec(Self.argoExample)
        let configuration = AWSConfiguration(
            credentials: exampleCredentials, region: "us-east-1", endpoint: "https://monitoring.us-east-1.amazonaws.com"
        )
        let past = Date(timeIntervalSince1970: 1_700_000_000)
        let signedAt = Date(timeIntervalSince1970: 1_796_512_000)
        let request = CloudWatchClient.request(spec, configuration: configuration, end: past, signedAt: signedAt)
        #expect(request.url == "https://monitoring.us-east-1.amazonaws.com/")
        let body = try JSONDecoder().decode(JSONValue.self, from: try #require(request.body))
        #expect(body["EndTime"] == .integer(1_700_000_000))
        #expect(body["StartTime"] == .integer(1_699_998_200))
        let headers = Dictionary(request.headers, uniquingKeysWith: { $1 })
        #expect(headers["X-Amz-Date"] == AWSSignatureV4.timestamp(signedAt))
        #expect(headers["Host"] == "monitoring.us-east-1.amazonaws.com")
        #expect(headers["X-Amz-Target"] == "GraniteServiceVersion20100801.GetMetricData")
        #expect(
            headers["Authorization"]?.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/monitoring/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=") == true)
    }

    @Test func theIntervalIsFiveMinutesUnlessSet() throws {
        let spec = try Self.spec(
            """
                  metricDataQueries:
                  - id: p99
                    label: latency
                    period: "60"
                    metricStat:
                      metric:
                        namespace: AWS/ApplicationELB
                        metricName: TargetResponseTime
                        dimensions: [{name: LoadBalancer, value: app/web/50dc6c495c0c9188}]
                      period: "60"
                      stat: p99
            """)
        #expect(spec.intervalSeconds == 300)
        let query = try #require(spec.queries.first)
        #expect(query.period == 60)
        #expect(query.label == "latency")
        #expect(query.metricStat?.dimensions == [.init(name: "LoadBalancer", value: "app/web/50dc6c495c0c9188")])
    }

    @Test(arguments: [
        ("  interval: 5m\n", "provider.cloudWatch.metricDataQueries: required; give at least one query"),
        ("  interval: soon\n  metricDataQueries: [{id: a, expression: x}]\n", #"interval: "soon" is not a positive"#),
        ("  metricDataQueries: [{expression: x}]\n", "metricDataQueries[0].id: required"),
        (
            "  metricDataQueries: [{id: Rate, expression: x}]\n",
            #"metricDataQueries[0].id: "Rate" is not a CloudWatch id: it must start with a lowercase letter"#
        ),
        (
            "  metricDataQueries: [{id: a-b, expression: x}]\n",
            #"metricDataQueries[0].id: "a-b" is not a CloudWatch id"#
        ),
        ("  metricDataQueries: [{id: a}]\n", "metricDataQueries[0]: give either an expression or a metricStat"),
        (
            "  metricDataQueries: [{id: a, expression: x, metricStat: {}}]\n",
            "metricDataQueries[0]: has both an expression and a metricStat"
        ),
        (
            "  metricDataQueries: [{id: a, expression: x}, {id: a, expression: y}]\n",
            #"metricDataQueries[1].id: "a" is the id of an earlier query"#
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {namespace: n}, period: 60, stat: Sum}}]\n",
            "metricDataQueries[0].metricStat.metric.metricName: required"
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m}, stat: Sum}}]\n",
            "metricDataQueries[0].metricStat.period: required; give the period in seconds"
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m}, period: 90, stat: Sum}}]\n",
            "metricDataQueries[0].metricStat.period: 90 s is not a CloudWatch period: use 60 or a multiple of it"
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m}, period: 5m, stat: Sum}}]\n",
            #"metricDataQueries[0].metricStat.period: "5m" is not a number of seconds"#
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m}, period: 60}}]\n",
            "metricDataQueries[0].metricStat.stat: required"
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m}, period: 60, stat: Sum, unit: ms}}]\n",
            #"metricDataQueries[0].metricStat.unit: "ms" is not a CloudWatch unit; use one of Seconds"#
        ),
        (
            "  metricDataQueries: [{id: a, metricStat: {metric: {metricName: m, dimensions: [{name: x}]}, period: 60, "
                + "stat: Sum}}]\n",
            "metricDataQueries[0].metricStat.metric.dimensions[0]: needs a name and a value"
        ),
        ("  metricDataQueries: [{id: a, expression: x, returnData: false}]\n", "every query has returnData: false"),
    ])
    func badFieldsAreNamedWithTheirFix(yaml: String, message: String) {
        #expect {
            _ = try Self.spec(yaml.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("provider.cloudWatch.") && text.contains(message)
        }
    }

    @Test func argumentsAreLeftForTheRunWhenLinting() throws {
        let value = metric(
            """
            - name: m
              provider:
                cloudWatch:
                  interval: "{{args.window}}"
                  metricDataQueries:
                  - {id: "{{args.id}}", metricStat: {metric: {metricName: m}, period: "{{args.period}}", stat: Sum}}
            """
        ).provider.cloudWatch
        #expect(throws: Never.self) { _ = try CloudWatchSpec(provider: value, allowTemplates: true) }
        #expect(throws: ProviderSpecError.self) { _ = try CloudWatchSpec(provider: value) }
    }

    @Test func anAnswerIsTheListOfResultsInTheSDKsNames() throws {
        let body = #"""
            {"MetricDataResults":[
              {"Id":"rate","Label":"rate","StatusCode":"Complete","Timestamps":[1796511600,1796511300.0],
               "Values":[0.0029476787030213707,0.00001]},
              {"Id":"p99","Label":"latency","StatusCode":"PartialData","Timestamps":[],"Values":[],
               "Messages":[{"Code":"MaxQueryTimeRangeExceed","Value":"too long"}]}],
             "Messages":[{"Code":"Info","Value":"partial"}]}
            """#
        let (series, messages) = try CloudWatchClient.read(status: 200, headers: [], body: Data(body.utf8))
        #expect(CloudWatchClient.display(series) == "[[0.0029476787030213707 1e-05] []]")
        #expect(CloudWatchClient.display(messages: messages) == "[{Code:Info Value:partial}]")
        let result = CloudWatchClient.result(series)
        func check(_ condition: String) throws -> Bool {
            try Expression(condition).evaluateCondition(["result": result])
        }
        #expect(try check("len(result[0].Values) == 2 and all(result[0].Values, {# <= 0.01})"))
        #expect(
            try check(
                #"result[1].StatusCode == "PartialData" and result[1].Messages[0].Code == "MaxQueryTimeRangeExceed""#))
        #expect(
            try check(#"result[0].Id == "rate" and result[1].Label == "latency" and len(result[0].Timestamps) == 2"#))
    }

    @Test(
        arguments: [
            (
                400, [("x-amzn-RequestId", "req-1"), ("x-amzn-query-error", "InvalidParameterValue;Sender")],
                #"{"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"The id Rate is bad"}"#,
                "operation error CloudWatch: GetMetricData, https response error StatusCode: 400, RequestID: req-1, "
                    + "InvalidParameterValue: The id Rate is bad"
            ),
            (
                403, [],
                #"{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"The security token is invalid."}"#,
                "operation error CloudWatch: GetMetricData, https response error StatusCode: 403, RequestID: , "
                    + "UnrecognizedClientException: The security token is invalid."
            ),
            (
                200, [], "<html>proxy</html>",
                "operation error CloudWatch: GetMetricData, deserialization failed: <html>proxy</html>"
            ),
        ] as [(Int, [(String, String)], String, String)])
    func refusalsAreWordedAsTheGoSDKWordsThem(status: Int, headers: [(String, String)], body: String, message: String) {
        #expect {
            _ = try CloudWatchClient.read(status: status, headers: headers, body: Data(body.utf8))
        } throws: { "\($0)" == message }
    }
}

extension MotoServer {
    /// Puts one data point per entry (metric name, value, time) in `namespace`, as a signed
    /// PutMetricData call in the JSON protocol.
    func put(namespace: String, _ points: [(String, Double, Date)]) async throws {
        let body: JSONValue = .object([
            "Namespace": .string(namespace),
            "MetricData": .array(
                points.map {
                    .object([
                        "MetricName": .string($0.0), "Value": .double($0.1), "Unit": .string("Count"),
                        "Timestamp": .integer(Int64($0.2.timeIntervalSince1970)),
                    ])
                }),
        ])
        let data = try JSONEncoder().encode(body)
        let host = String(endpoint.dropFirst("http://".count))
        let headers = [
            ("Host", host), ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData"),
        ]
        let signature = AWSSignatureV4.sign(
            method: "POST", path: "/", headers: headers, body: data, credentials: exampleCredentials,
            region: "us-east-1", service: "monitoring", date: Date())
        let response = try await MetricHTTP.send(
            MetricHTTPRequest(
                method: .POST, url: endpoint + "/", headers: headers + signature, body: data, timeout: .seconds(30)))
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
    }

}

/// Argo's CloudWatch provider against moto's CloudWatch: the signed GetMetricData call with the
/// key and region from the environment, the results as the condition reads them.
@Suite(.serialized, .enabled(if: MotoServer.isRequired, "moto is not installed"))
struct CloudWatchProviderTests {
    static func providers(_ environment: [String: String]) -> MetricProviders {
        var providers = MetricProviders()
        providers.environment = environment
        return providers
    }

    static func environment(_ moto: MotoServer) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": exampleCredentials.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": exampleCredentials.secretAccessKey, "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_CLOUDWATCH": moto.endpoint, "HOME": "/nonexistent",
        ]
    }

    static let errorsMetric = metric(
        """
        - name: errors
          successCondition: "len(result[0].Values) >= 5 and all(result[0].Values, {# <= 4})"
          provider:
            cloudWatch:
              interval: 30m
              metricDataQueries:
              - id: errors
                metricStat:
                  metric: {namespace: app, metricName: errors}
                  period: 60
                  stat: Sum
                  unit: Count
              - id: missing
                label: nothing here
                metricStat:
                  metric: {namespace: app, metricName: missing, dimensions: [{name: pod, value: web-1}]}
                  period: 60
                  stat: Sum
        """)

    @Test func theResultsOfTheWindowAreTheResult() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let now = Date()
        try await moto.put(namespace: "app", (0..<5).map { ("errors", Double($0), now - Double($0 * 60 + 30)) })
        // A point outside the 30-minute window is not in the result.
        try await moto.put(namespace: "app", [("errors", 99, now - 3600)])

        let outcome = await Self.providers(Self.environment(moto)).measure(request(Self.errorsMetric))
        guard case .value(let result, let display, let metadata) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(display == "[[0 1 2 3 4] []]")
        #expect(metadata == [:])
        let condition = try #require(Self.errorsMetric.successCondition)
        #expect(try Expression(condition).evaluateCondition(["result": result]))
        #expect(
            try Expression(#"result[1].Label == "nothing here" and len(result[1].Values) == 0"#)
                .evaluateCondition(["result": result]))
    }

    @Test func withoutCredentialsOrARegionTheErrorSaysWhatToSet() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        var environment = Self.environment(moto)
        environment["AWS_REGION"] = nil
        let outcome = await Self.providers(environment).measure(request(Self.errorsMetric))
        guard case .error(let message) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(message.hasPrefix("provider.cloudWatch: no AWS region: set AWS_REGION"), "\(message)")
    }

    @Test func anUnreachableEndpointIsAnErrorNamingIt() async throws {
        let port = freeLoopbackPort()
        let outcome = await Self.providers([
            "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)",
        ]).measure(request(Self.errorsMetric))
        guard case .error(let message) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(
            message.hasPrefix(
                "operation error CloudWatch: GetMetricData, https response error StatusCode: 0, request send failed, "
                    + "Post \"http://127.0.0.1:\(port)/\""), "\(message)")
    }
}
