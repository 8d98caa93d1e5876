import AviaryJSON

/// Argo's `provider.wavefront`: a WQL `query` sent to the Wavefront instance at `address` (a host
/// name, such as `example.wavefront.com`), whose API token is the key of that name in the Secret
/// `wavefront-api-tokens` of the controller's namespace.
public struct WavefrontSpec: Sendable, Equatable {
    public var address: String
    public var query: String

    /// The Secret Argo reads the tokens from, one key per address.
    public static let tokensSecret = "wavefront-api-tokens"
    /// The fields Argo's WavefrontMetric has.
    public static let fields = ["address", "query"]

    /// Reads `provider.wavefront`; the error names the field and the fix.
    public init(provider value: JSONValue?) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        guard let address = fields["address"]?.stringValue, !address.isEmpty else {
            throw ProviderSpecError(
                "wavefront", "address", "required; give the instance's host name, e.g. example.wavefront.com")
        }
        guard !address.contains("/") else {
            throw ProviderSpecError(
                "wavefront", "address",
                "\"\(address)\" is a URL; give the host name only (Argo's client adds https:// and /api/v2)")
        }
        guard let query = fields["query"]?.stringValue, !query.isEmpty else {
            throw ProviderSpecError("wavefront", "query", "required; give the WQL query, e.g. ts(\"requests.errors\")")
        }
        self.address = address
        self.query = query
    }
}
