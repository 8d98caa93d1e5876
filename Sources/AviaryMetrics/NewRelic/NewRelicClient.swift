import AviaryCore
import AviaryJSON
import AviaryModel
import Foundation
import NIOHTTP1

/// The account a New Relic profile Secret names: `personal-api-key`, `account-id`, and where
/// NerdGraph is (`base-url-nerdgraph`, else by `region`, `us` or `eu`).
public struct NewRelicAccount: Sendable, Equatable {
    public var apiKey: String
    public var accountID: Int
    public var nerdGraphURL: String

    /// The account of a profile Secret's keys; the error says which key is missing or wrong.
    public init(secret values: [String: String]) throws(NewRelicError) {
        guard let apiKey = values["personal-api-key"], !apiKey.isEmpty, let account = values["account-id"],
            !account.isEmpty
        else { throw NewRelicError("account ID or personal API key not found") }
        guard let accountID = Int(account) else {
            throw NewRelicError("could not parse account ID: \"\(account)\" is not a number")
        }
        self.apiKey = apiKey
        self.accountID = accountID
        if let url = values["base-url-nerdgraph"], !url.isEmpty {
            nerdGraphURL = url
        } else {
            switch (values["region"] ?? "us").lowercased() {
            case "us", "": nerdGraphURL = "https://api.newrelic.com/graphql"
            case "eu": nerdGraphURL = "https://api.eu.newrelic.com/graphql"
            case let other: throw NewRelicError("invalid region \"\(other)\": give us or eu")
            }
        }
    }
}

/// Why a New Relic measurement could not be taken.
public struct NewRelicError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Sends NRQL through NerdGraph as Argo's provider (New Relic's Go client) does.
public enum NewRelicClient {
    /// The GraphQL document Argo sends, with the query, account and timeout as variables.
    static let document = """
        query (
          $query: Nrql!,
          $accountId: Int!,
          $timeout: Seconds!
        )
        {
          actor {
            account(id: $accountId) {
              nrql(query: $query, timeout: $timeout) {
                results
              }
            }
          }
        }
        """

    struct Body: Encodable {
        struct Variables: Encodable {
            var accountId: Int
            var query: String
            var timeout: Int
        }
        var query: String
        var variables: Variables
    }

    static func request(_ spec: NewRelicSpec, account: NewRelicAccount) throws(NewRelicError) -> MetricHTTPRequest {
        guard let url = URLComponents(string: account.nerdGraphURL), let scheme = url.scheme,
            ["http", "https"].contains(scheme), url.host != nil
        else {
            throw NewRelicError("NerdGraph URL \(account.nerdGraphURL) is not a valid URL; fix base-url-nerdgraph")
        }
        let body = Body(
            query: document,
            variables: .init(accountId: account.accountID, query: spec.query, timeout: spec.timeoutSeconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return MetricHTTPRequest(
            method: .POST, url: account.nerdGraphURL,
            headers: [("Content-Type", "application/json"), ("Api-Key", account.apiKey)],
            body: try? encoder.encode(body),
            // NRQL's own limit, and the request's margin over it.
            timeout: .seconds(spec.timeoutSeconds + 10))
    }

    /// The query's `results`.
    static func run(_ spec: NewRelicSpec, account: NewRelicAccount) async throws(NewRelicError) -> [JSONValue] {
        let response = try await MetricHTTP.send(try request(spec, account: account), failure: NewRelicError.init)
        return try results(status: response.status, body: response.body)
    }

    /// Reads NerdGraph's answer: GraphQL `errors` (their messages joined) or HTTP errors are
    /// errors; otherwise `data.actor.account.nrql.results`.
    static func results(status: Int, body: Data) throws(NewRelicError) -> [JSONValue] {
        let text = String(decoding: body.prefix(1024), as: UTF8.self)
        let document = try? JSONDecoder().decode(JSONValue.self, from: body)
        let messages = (document?["errors"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }
        if !messages.isEmpty { throw NewRelicError(messages.joined(separator: ", ")) }
        guard (200..<300).contains(status) else { throw NewRelicError("\(status) response returned: \(text)") }
        guard let document else { throw NewRelicError("could not parse NerdGraph's answer: \(text)") }
        return document["data"]?["actor"]?["account"]?["nrql"]?["results"]?.arrayValue ?? []
    }
}
