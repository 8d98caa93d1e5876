import AviaryPlatform
import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Why a call to Elastic Load Balancing failed, worded as the AWS SDK for Go v2 words it (Argo
/// shows that text): `operation error Elastic Load Balancing v2: DescribeLoadBalancers, https
/// response error StatusCode: 400, RequestID: ..., LoadBalancerNotFound: ...`.
public struct ELBv2Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

/// Reads an account's Application Load Balancers through ELBv2's Query API (the only protocol it
/// serves: a signed form POST, an XML answer), as Argo's ALB weight check reads them: the load
/// balancer with a DNS name (every page of `DescribeLoadBalancers`), then its target groups, their
/// tags (20 ARNs a call), its listeners, and the weights their rules' forward actions give.
public struct ELBv2Client: ElasticLoadBalancing {
    static let version = "2015-12-01"
    static let timeout: Duration = .seconds(30)
    /// Argo's page size for `DescribeLoadBalancers`, and AWS's limit of ARNs per `DescribeTags`.
    static let pageSize = 300
    static let tagsPerCall = 20

    private let configuration: @Sendable () throws -> AWSConfiguration

    /// A client whose key, region and endpoint are found in `environment` at each call, as the
    /// AWS SDK finds them (`AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2` sends the calls elsewhere).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        configuration = {
            try AWSConfiguration.resolve(
                service: "elasticloadbalancing", serviceID: "Elastic Load Balancing v2", environment: environment)
        }
    }

    public func loadBalancer(dnsName: String) async throws -> ElasticLoadBalancer? {
        var marker: String?
        repeat {
            var parameters = [("PageSize", String(Self.pageSize))]
            if let marker { parameters.append(("Marker", marker)) }
            let result = try await call("DescribeLoadBalancers", parameters)
            for member in result.child("LoadBalancers")?.children("member") ?? [] {
                if member.text(of: "DNSName") == dnsName {
                    return ElasticLoadBalancer(
                        name: member.text(of: "LoadBalancerName") ?? "", arn: member.text(of: "LoadBalancerArn") ?? "",
                        dnsName: dnsName)
                }
            }
            marker = result.text(of: "NextMarker").flatMap { $0.isEmpty ? nil : $0 }
        } while marker != nil
        return nil
    }

    public func targetGroups(loadBalancerARN: String) async throws -> [ElasticTargetGroup] {
        let found = try await call("DescribeTargetGroups", [("LoadBalancerArn", loadBalancerARN)])
        var groups = (found.child("TargetGroups")?.children("member") ?? []).map { member in
            ElasticTargetGroup(
                name: member.text(of: "TargetGroupName") ?? "", arn: member.text(of: "TargetGroupArn") ?? "")
        }
        let arns = groups.map(\.arn)
        for start in stride(from: 0, to: arns.count, by: Self.tagsPerCall) {
            let batch = arns[start..<min(start + Self.tagsPerCall, arns.count)]
            let parameters = batch.enumerated().map { ("ResourceArns.member.\($0.offset + 1)", $0.element) }
            let tags = try await call("DescribeTags", parameters)
            for description in tags.child("TagDescriptions")?.children("member") ?? [] {
                guard let index = groups.firstIndex(where: { $0.arn == description.text(of: "ResourceArn") }) else {
                    continue
                }
                for tag in description.child("Tags")?.children("member") ?? [] {
                    if let key = tag.text(of: "Key") { groups[index].tags[key] = tag.text(of: "Value") ?? "" }
                }
            }
        }
        let listeners = try await call("DescribeListeners", [("LoadBalancerArn", loadBalancerARN)])
        for listener in listeners.child("Listeners")?.children("member") ?? [] {
            guard let listenerARN = listener.text(of: "ListenerArn") else { continue }
            let rules = try await call("DescribeRules", [("ListenerArn", listenerARN)])
            for rule in rules.child("Rules")?.children("member") ?? [] {
                for action in rule.child("Actions")?.children("member") ?? [] {
                    for tuple in action.child("ForwardConfig")?.child("TargetGroups")?.children("member") ?? [] {
                        guard let index = groups.firstIndex(where: { $0.arn == tuple.text(of: "TargetGroupArn") })
                        else { continue }
                        groups[index].weight = tuple.text(of: "Weight").flatMap { Int($0) }
                    }
                }
            }
        }
        return groups
    }

    public func registeredTargets(targetGroupARN: String) async throws -> [String] {
        let health = try await call("DescribeTargetHealth", [("TargetGroupArn", targetGroupARN)])
        return (health.child("TargetHealthDescriptions")?.children("member") ?? []).compactMap { member in
            guard let target = member.child("Target"), let id = target.text(of: "Id") else { return nil }
            return "\(id):\(target.text(of: "Port") ?? "")"
        }
    }

    /// The signed form POST of one action.
    static func request(
        _ action: String, _ parameters: [(String, String)], configuration: AWSConfiguration, signedAt: Date = Date()
    ) -> MetricHTTPRequest {
        AWSSignatureV4.post(
            to: configuration.endpoint,
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: AWSSignatureV4.form([("Action", action), ("Version", version)] + parameters),
            credentials: configuration.credentials, region: configuration.region, service: "elasticloadbalancing",
            date: signedAt, timeout: timeout)
    }

    /// The action's `<ACTIONResult>` element, or the SDK's error.
    private func call(_ action: String, _ parameters: [(String, String)]) async throws(ELBv2Error) -> AWSXMLElement {
        let resolved: AWSConfiguration
        do {
            resolved = try await configuration().signing()
        } catch {
            throw ELBv2Error("\(error)")
        }
        let response = try await MetricHTTP.send(Self.request(action, parameters, configuration: resolved)) { reason in
            ELBv2Error(
                "operation error Elastic Load Balancing v2: \(action), https response error StatusCode: 0, "
                    + "request send failed, \(reason)")
        }
        return try Self.read(action, status: response.status, body: response.body)
    }

    /// Reads an answer: 200 gives `<ACTIONResult>`; any other status AWS's `<Error>`.
    static func read(_ action: String, status: Int, body: Data) throws(ELBv2Error) -> AWSXMLElement {
        let document = AWSXMLElement.parse(body)
        guard status == 200 else {
            let error = document?.child("Error")
            let code = error?.text(of: "Code") ?? "UnknownError"
            let message = error?.text(of: "Message") ?? String(decoding: body.prefix(512), as: UTF8.self)
            throw ELBv2Error(
                "operation error Elastic Load Balancing v2: \(action), https response error StatusCode: \(status), "
                    + "RequestID: \(document?.text(of: "RequestId") ?? ""), \(code): \(message)")
        }
        guard let result = document?.child("\(action)Result") else {
            throw ELBv2Error(
                "operation error Elastic Load Balancing v2: \(action), deserialization failed: "
                    + String(decoding: body.prefix(200), as: UTF8.self))
        }
        return result
    }
}

/// An XML element with its child elements and text (attributes and namespaces dropped): all the
/// Query API's answers need.
struct AWSXMLElement: Sendable {
    var name: String
    var text = ""
    var children: [AWSXMLElement] = []

    func child(_ name: String) -> AWSXMLElement? { children.first { $0.name == name } }
    func children(_ name: String) -> [AWSXMLElement] { children.filter { $0.name == name } }
    /// The text of the first child named so, trimmed.
    func text(of name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The document's root element; nil when the data is not well-formed XML.
    static func parse(_ data: Data) -> AWSXMLElement? {
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [AWSXMLElement] = []
        var root: AWSXMLElement?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(AWSXMLElement(name: elementName))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            guard let node = stack.popLast() else { return }
            if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
        }
    }
}
