import AviaryAPI
import AviaryClient
import AviaryDashboard
import AviaryModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `aviary serve --dashboard`: what the web dashboard at `/` offers.
public enum DashboardMode: String, CaseIterable, Sendable, Equatable {
    /// Pages and controls.
    case on
    /// Pages without controls; every action is refused.
    case readOnly = "read-only"
    /// Nothing at `/`.
    case off
}

/// The web dashboard: pages at `/` and `/rollouts/NS/NAME`, its own paths under `/dashboard/`.
/// It reads and acts through `source` (the daemon's own API on the local platform, once it
/// listens; the API server on Kubernetes), as the CLI does, so it shows what the CLI shows. It
/// authenticates people with a session cookie instead of the API's bearer token, and refuses any
/// state-changing request without the session's CSRF token.
struct Dashboard: Sendable {
    let mode: DashboardMode
    /// The daemon's token: when set, pages need a signed-in session.
    let token: String?
    let sessions: DashboardSessions
    /// Where rollouts are read and changed (nil until it can be used: the local daemon's API
    /// listens only once the dashboard's routes exist).
    let source: @Sendable () -> (any DashboardSource)?
    var now: @Sendable () -> Date = { Date() }

    /// Whether a request path is the dashboard's (so the API's bearer token is not asked for).
    static func isDashboardPath(_ path: String) -> Bool {
        path == "/" || path.hasPrefix("/rollouts/") || path.hasPrefix("/dashboard/")
    }

    /// The headers of every dashboard answer: no script but the daemon's own, no framing, no
    /// sniffing, no referrer, no caching of pages.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (
            .contentSecurityPolicy,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-store"),
    ]

    /// Who is asking: the session of the cookie (a new one when there is none) and whether it signed in.
    struct Visit {
        var session: String
        var isNew: Bool
        var signedIn: Bool
    }

    func visit(_ request: Request) -> Visit {
        let existing = DashboardSessions.session(fromCookieHeader: request.headers[.cookie])
        let session = existing ?? DashboardSessions.newID()
        let signedIn = token == nil || sessions.isSignedIn(existing, now: now())
        return Visit(session: session, isNew: existing == nil, signedIn: signedIn)
    }

    func context(_ visit: Visit) -> PageContext {
        PageContext(
            csrf: sessions.csrfToken(for: visit.session), readOnly: mode == .readOnly,
            signedIn: token != nil && visit.signedIn, now: now(), podLogs: source()?.hasPodLogs ?? false)
    }

    /// An answer with the security headers (and the session cookie when it is new).
    func respond(
        _ status: HTTPResponse.Status, _ body: String, contentType: String, visit: Visit? = nil,
        extra: [(HTTPField.Name, String)] = []
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        for (name, value) in Self.securityHeaders + extra { headers[name] = value }
        if let visit, visit.isNew {
            headers.append(HTTPField(name: .setCookie, value: DashboardSessions.setCookie(visit.session)))
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func page(_ status: HTTPResponse.Status, _ html: HTML, visit: Visit) -> Response {
        respond(status, html.text, contentType: "text/html; charset=utf-8", visit: visit)
    }

    func json(_ status: HTTPResponse.Status, _ object: [String: String], visit: Visit? = nil) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return respond(status, String(decoding: data, as: UTF8.self), contentType: "application/json", visit: visit)
    }

    func redirect(_ location: String, visit: Visit? = nil, cookie: String? = nil) -> Response {
        var extra: [(HTTPField.Name, String)] = [(.location, location)]
        if let cookie { extra.append((.setCookie, cookie)) }
        return respond(.seeOther, "", contentType: "text/plain", visit: visit, extra: extra)
    }

    /// The answer for a visitor who has not signed in: the sign-in page for a page, 401 for the rest.
    func signInFirst(_ request: Request, visit: Visit, page: Bool) -> Response {
        if page {
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return redirect(
                "/dashboard/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"),
                visit: visit)
        }
        return json(.unauthorized, ["error": "sign in first: open /dashboard/login"], visit: visit)
    }

    /// The source, or an answer saying it is not ready yet.
    func readySource() -> Result<any DashboardSource, DashboardRefusal> {
        guard let client = source() else {
            return .failure(
                DashboardRefusal(status: 503, message: "the daemon's API is not listening yet; reload in a moment"))
        }
        return .success(client)
    }

    /// A path's `next` if it is a path of this site (`/...`, not `//host`), else `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.contains(where: { $0.isNewline })
        else { return "/" }
        return next
    }

    /// The fields of an `application/x-www-form-urlencoded` body.
    static func formFields(_ body: Data) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let key = parts.first else { continue }
            fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func wantsJSON(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").contains("application/json")
    }
}

/// The daemon's own API client, known once the API listens (its port may be picked at start).
final class LoopbackAPI: Sendable {
    private let state = Mutex<APIClient?>(nil)

    init(_ client: APIClient? = nil) { state.withLock { $0 = client } }

    var client: APIClient? { state.withLock { $0 } }

    /// The dashboard's source: this API, once it listens.
    var dashboardSource: (any DashboardSource)? { client.map { APIDashboardSource(client: $0) } }

    /// Sets the address the API listens on (`http://HOST:PORT`, a wildcard host read as loopback).
    func listening(at base: String, token: String?) {
        let client = APIClient(server: base, token: token, environment: [:])
        state.withLock { $0 = client }
    }
}

extension Dashboard {
    /// Adds the dashboard's routes (none when `mode` is off).
    func addRoutes(to router: Router<BasicRequestContext>) {
        guard mode != .off else { return }
        let dashboard = self
        router.get("/dashboard/assets/dashboard.js") { _, _ in
            dashboard.respond(
                .ok, DashboardAssets.javascript, contentType: "text/javascript; charset=utf-8",
                extra: [(.cacheControl, "no-cache")])
        }
        router.get("/dashboard/assets/dashboard.css") { _, _ in
            dashboard.respond(
                .ok, DashboardAssets.stylesheet, contentType: "text/css; charset=utf-8",
                extra: [(.cacheControl, "no-cache")])
        }
        router.get("/") { request, _ in await dashboard.listPage(request) }
        router.get("/rollouts/:namespace/:name") { request, context in
            await dashboard.rolloutPage(
                request, namespace: context.parameters.get("namespace") ?? "",
                name: context.parameters.get("name") ?? "")
        }
        router.get("/dashboard/login") { request, _ in
            let visit = dashboard.visit(request)
            let next = Self.safeNext(request.uri.queryParameters.get("next"))
            if visit.signedIn { return dashboard.redirect(next, visit: visit) }
            return dashboard.page(
                .ok, Pages.login(next: next, error: nil, csrf: dashboard.sessions.csrfToken(for: visit.session)),
                visit: visit)
        }
        router.post("/dashboard/login") { request, _ in await dashboard.signIn(request) }
        router.post("/dashboard/logout") { request, _ in await dashboard.signOut(request) }
        router.post("/dashboard/rollouts/:namespace/:name/:action") { request, context in
            await dashboard.act(
                request, namespace: context.parameters.get("namespace") ?? "",
                name: context.parameters.get("name") ?? "", segment: context.parameters.get("action") ?? "")
        }
        router.get("/dashboard/events") { request, _ in dashboard.events(request) }
        router.get("/dashboard/pods/:namespace/:name/log") { request, context in
            await dashboard.podLog(
                request, namespace: context.parameters.get("namespace") ?? "",
                name: context.parameters.get("name") ?? "")
        }
    }

    /// What drawing a page needs once its visitor may see it, or the answer to send instead
    /// (the sign-in page, or an error page when the API is not listening yet).
    enum PageRequest {
        case ready(visit: Visit, context: PageContext, client: any DashboardSource, fragment: Bool)
        case answer(Response)
    }

    func pageRequest(_ request: Request) -> PageRequest {
        let visit = visit(request)
        let fragment = request.uri.queryParameters.get("fragment") != nil
        guard visit.signedIn else { return .answer(signInFirst(request, visit: visit, page: !fragment)) }
        let context = context(visit)
        switch readySource() {
        case .success(let client): return .ready(visit: visit, context: context, client: client, fragment: fragment)
        case .failure(let refusal): return .answer(failurePage(refusal, visit: visit, context: context))
        }
    }

    func listPage(_ request: Request) async -> Response {
        let (visit, context, client, fragment): (Visit, PageContext, any DashboardSource, Bool)
        switch pageRequest(request) {
        case .ready(let ready, let pageContext, let apiClient, let isFragment):
            (visit, context, client, fragment) = (ready, pageContext, apiClient, isFragment)
        case .answer(let response): return response
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let filter = ListPage.Filter(query: query)
        let rollouts: [Rollout]
        do {
            rollouts = try await client.listRollouts()
        } catch {
            return failurePage(error, visit: visit, context: context)
        }
        let content = ListPage.content(rollouts, filter: filter, context: context)
        if fragment { return page(.ok, content, visit: visit) }
        let live =
            "/dashboard/events" + (filter.namespace.isEmpty ? "" : "?namespace=" + Pages.segment(filter.namespace))
        let fragmentURL = "/?" + (filter.query.isEmpty ? "" : filter.query + "&") + "fragment=1"
        return page(
            .ok,
            Pages.document(title: "Rollouts", content: content, context: context, live: live, fragment: fragmentURL),
            visit: visit)
    }

    func rolloutPage(_ request: Request, namespace: String, name: String) async -> Response {
        let (visit, context, client, fragment): (Visit, PageContext, any DashboardSource, Bool)
        switch pageRequest(request) {
        case .ready(let ready, let pageContext, let apiClient, let isFragment):
            (visit, context, client, fragment) = (ready, pageContext, apiClient, isFragment)
        case .answer(let response): return response
        }
        let snapshot: RolloutSnapshot
        let events: [EventList.Event]
        do {
            (snapshot, events) = try await client.page(name: name, namespace: namespace)
        } catch {
            if error.status == 404 {
                let message = "There is no rollout \"\(name)\" in namespace \"\(namespace)\"."
                return fragment
                    ? page(.notFound, "<p class=\"error\" id=\"not-found\">\(message)</p>", visit: visit)
                    : page(.notFound, Pages.notFound(message, context: context), visit: visit)
            }
            return failurePage(error, visit: visit, context: context)
        }
        let done = request.uri.queryParameters.get("done").flatMap { segment -> String? in
            guard case .success(let action) = DashboardAction.parse(segment: String(segment), fields: [:]) else {
                return "Done."
            }
            return action.done
        }
        let content = RolloutPage.content(snapshot, events: events, context: context, notice: done)
        if fragment { return page(.ok, content, visit: visit) }
        let path = Pages.rolloutPath(namespace: namespace, name: name)
        let live = "/dashboard/events?namespace=\(Pages.segment(namespace))&name=\(Pages.segment(name))"
        return page(
            .ok,
            Pages.document(title: name, content: content, context: context, live: live, fragment: path + "?fragment=1"),
            visit: visit)
    }

    func failurePage(_ refusal: DashboardRefusal, visit: Visit, context: PageContext) -> Response {
        page(
            HTTPResponse.Status(code: refusal.status),
            Pages.document(
                title: "Error", content: "<h1>Cannot show this page</h1><p class=\"error\">\(refusal.message)</p>",
                context: context), visit: visit)
    }

    /// Refuses a state-changing request whose CSRF token (header `X-CSRF-Token` or field `csrf`)
    /// is not its session's; nil when it carries the right one.
    func csrfRefusal(_ request: Request, fields: [String: String]) -> Response? {
        guard let session = DashboardSessions.session(fromCookieHeader: request.headers[.cookie]) else {
            return json(.forbidden, ["error": "no session cookie: reload the page and try again"])
        }
        let token = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? fields["csrf"]
        guard sessions.isValidCSRF(token, session: session) else {
            return json(
                .forbidden,
                ["error": "missing or wrong CSRF token: reload the page and try again (nothing was changed)"])
        }
        return nil
    }

    func signIn(_ request: Request) async -> Response {
        let body = (try? await readBody(request, limit: 64 * 1024)) ?? Data()
        let fields = Self.formFields(body)
        if let refusal = csrfRefusal(request, fields: fields) { return refusal }
        let visit = visit(request)
        let next = Self.safeNext(fields["next"])
        guard let token else { return redirect(next) }
        if let wait = sessions.signInWait(now: now()) {
            return page(
                .tooManyRequests,
                Pages.login(
                    next: next,
                    error: "Too many wrong tokens in the last minute; try again in \(wait) s.",
                    csrf: sessions.csrfToken(for: visit.session)), visit: visit)
        }
        guard let given = fields["token"], APIRequestDecoding.constantTimeEqual(given, token) else {
            sessions.wrongToken(now: now())
            return page(
                .unauthorized,
                Pages.login(
                    next: next, error: "That is not the daemon's token.",
                    csrf: sessions.csrfToken(for: visit.session)), visit: visit)
        }
        // A new id on sign-in: a session id known before it cannot be used to act as this person.
        let session = sessions.signIn(now: now())
        return redirect(next, cookie: DashboardSessions.setCookie(session))
    }

    func signOut(_ request: Request) async -> Response {
        let body = (try? await readBody(request, limit: 64 * 1024)) ?? Data()
        if let refusal = csrfRefusal(request, fields: Self.formFields(body)) { return refusal }
        if let session = DashboardSessions.session(fromCookieHeader: request.headers[.cookie]) {
            sessions.signOut(session)
        }
        return redirect(token == nil ? "/" : "/dashboard/login", cookie: DashboardSessions.clearCookie)
    }

    func act(_ request: Request, namespace: String, name: String, segment: String) async -> Response {
        let visit = visit(request)
        let wantsJSON = Self.wantsJSON(request)
        func refuse(_ refusal: DashboardRefusal) -> Response {
            json(HTTPResponse.Status(code: refusal.status), ["error": refusal.message], visit: visit)
        }
        guard visit.signedIn else { return signInFirst(request, visit: visit, page: false) }
        let body: Data
        do {
            body = try await readBody(request, limit: 64 * 1024)
        } catch {
            return refuse(DashboardRefusal(status: error.status, message: error.message))
        }
        let fields = Self.formFields(body)
        if let refusal = csrfRefusal(request, fields: fields) { return refusal }
        guard mode == .on else {
            return refuse(
                DashboardRefusal(
                    status: 403,
                    message: "this dashboard is read-only (aviary serve --dashboard read-only); nothing was changed"))
        }
        let action: DashboardAction
        switch DashboardAction.parse(segment: segment, fields: fields) {
        case .success(let parsed): action = parsed
        case .failure(let refusal): return refuse(refusal)
        }
        let client: any DashboardSource
        switch readySource() {
        case .success(let found): client = found
        case .failure(let refusal): return refuse(refusal)
        }
        do {
            // The page may be older than the rollout: a button that was live then is checked again now.
            let rollout = try await client.rollout(name: name, namespace: namespace)
            if let refusal = action.refusal(on: rollout) {
                return refuse(DashboardRefusal(status: 409, message: refusal + "; nothing was changed"))
            }
            try await client.perform(action, name: name, namespace: namespace)
        } catch {
            return refuse(error)
        }
        if wantsJSON { return json(.ok, ["message": action.done], visit: visit) }
        return redirect(Pages.rolloutPath(namespace: namespace, name: name) + "?done=" + action.segment, visit: visit)
    }

    /// Server-Sent Events: `event: change` each time the rollout (and what it owns), or any
    /// rollout for the list, changes (`DashboardSource.followChanges`); the page then fetches its
    /// new content.
    func events(_ request: Request) -> Response {
        let visit = visit(request)
        guard visit.signedIn else { return signInFirst(request, visit: visit, page: false) }
        guard let source = source() else {
            return json(.serviceUnavailable, ["error": "the daemon's API is not listening yet"], visit: visit)
        }
        let namespace = request.uri.queryParameters.get("namespace").map { String($0) }
        let name = request.uri.queryParameters.get("name").map { String($0) }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        for (field, value) in Self.securityHeaders { headers[field] = value }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                let (changes, continuation) = AsyncStream.makeStream(
                    of: Void.self, bufferingPolicy: .bufferingNewest(1))
                let follower = Task {
                    await source.followChanges(name: name, namespace: namespace) {
                        continuation.yield()
                        return !Task.isCancelled
                    }
                    continuation.finish()
                }
                // A browser that has gone is noticed at the next change, whose write fails.
                for await _ in changes {
                    do {
                        try await writer.write(ByteBuffer(string: "event: change\ndata: 1\n\n"))
                    } catch {
                        break
                    }
                }
                follower.cancel()
                try await writer.finish(nil)
            })
    }

    func podLog(_ request: Request, namespace: String, name: String) async -> Response {
        let visit = visit(request)
        guard visit.signedIn else { return signInFirst(request, visit: visit, page: false) }
        guard let source = source() else {
            return json(.serviceUnavailable, ["error": "the daemon's API is not listening yet"], visit: visit)
        }
        do {
            let data = try await source.podLog(name: name, namespace: namespace)
            return respond(
                .ok, String(decoding: data, as: UTF8.self), contentType: "text/plain; charset=utf-8", visit: visit)
        } catch {
            return json(HTTPResponse.Status(code: error.status), ["error": error.message], visit: visit)
        }
    }
}
