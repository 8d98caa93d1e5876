import AviaryJSON
import AviaryModel
import Foundation

/// Argo's `provider.skywalking`: a GraphQL `query` sent to SkyWalking's OAP at `address`, over
/// the last `interval` (a Go duration) by the minute.
public struct SkyWalkingSpec: Sendable, Equatable {
    public var address: String
    public var query: String
    /// The window, in seconds; NaN while it is still an argument (lint).
    public var intervalSeconds: Double

    /// The fields Argo's SkyWalkingMetric has.
    public static let fields = ["address", "query", "interval"]

    /// Reads `provider.skywalking`; the error names the field and the fix. With `allowTemplates`,
    /// an `interval` still holding `{{args.x}}` is accepted (lint, before the run resolves it).
    public init(provider value: JSONValue?, allowTemplates: Bool = false) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        guard let address = fields["address"]?.stringValue, !address.isEmpty else {
            throw ProviderSpecError(
                "skywalking", "address", "required; give the OAP server's URL, e.g. http://oap:12800")
        }
        let isTemplate = allowTemplates && address.contains("{{")
        if !isTemplate {
            guard let url = URLComponents(string: address), let scheme = url.scheme,
                ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw ProviderSpecError(
                    "skywalking", "address", "\"\(address)\" is not an http or https URL; give e.g. http://oap:12800")
            }
        }
        guard let query = fields["query"]?.stringValue, !query.isEmpty else {
            throw ProviderSpecError("skywalking", "query", "required; give the GraphQL query")
        }
        let interval: String
        switch fields["interval"] {
        case .string(let text)?: interval = text
        case .integer(let seconds)?: interval = String(seconds)
        default: throw ProviderSpecError("skywalking", "interval", "required; give the window to query, e.g. 5m")
        }
        if allowTemplates, interval.contains("{{") {
            intervalSeconds = .nan
        } else {
            guard let duration = try? ArgoDuration(interval), duration.seconds > 0 else {
                throw ProviderSpecError(
                    "skywalking", "interval", "\"\(interval)\" is not a positive duration; give e.g. 5m or 1h")
            }
            intervalSeconds = duration.seconds
        }
        self.address = address
        self.query = query
    }
}
