import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

/// The web dashboard served by a real daemon with real pods: headers, the session cookie and
/// CSRF tokens, sign-in with a token, read-only and off, a stale action and an unknown rollout.
/// (Tests/AviaryServerTests/dashboard_browser.py drives it in Chromium.)
@Suite(.serialized) struct DashboardEndToEndTests {
    static let manifest = Data(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: sample-app:v1
                command: [aviary-sample-app]
                ports: [{name: http, containerPort: 8080}]
          strategy:
            canary:
              steps: [{setWeight: 50}, {pause: {}}]
        """.utf8)

    func rolloutPhase(_ daemon: Daemon) async -> String? {
        let json = (await daemon.call(.GET, "/api/v1/rollouts/web?namespace=default"))?.json
        return (json?["status"] as? [String: Any])?["phase"] as? String
    }

    func resourceVersion(_ daemon: Daemon) async -> String? {
        let json = (await daemon.call(.GET, "/api/v1/rollouts/web?namespace=default"))?.json
        return (json?["metadata"] as? [String: Any])?["resourceVersion"] as? String
    }

    func applyAndWaitHealthy(_ daemon: Daemon) async throws {
        let applied = try #require(await daemon.call(.POST, "/api/v1/apply", body: Self.manifest))
        #expect(applied.status == 200, "\(applied.text)")
        let healthy = await eventually(within: 90) { await rolloutPhase(daemon) == "Healthy" }
        #expect(healthy, "the rollout became Healthy")
    }

    @Test(.timeLimit(.minutes(5))) func pagesHeadersCSRFAndAStaleAction() async throws {
        try await Daemon.run { daemon in
            try await applyAndWaitHealthy(daemon)
            let browser = DashboardBrowser(base: daemon.base)

            let list = try await browser.get("/")
            #expect(list.status == 200)
            #expect(list.headers["Content-Security-Policy"].first?.contains("script-src 'self'") == true)
            #expect(!(list.headers["Content-Security-Policy"].first ?? "").contains("unsafe-inline"))
            #expect(list.headers["X-Frame-Options"].first == "DENY")
            #expect(list.headers["X-Content-Type-Options"].first == "nosniff")
            let setCookie = list.headers["Set-Cookie"].first ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), "\(setCookie)")
            #expect(list.text.contains("<tr data-rollout=\"default/web\">"))
            let script = try await browser.get("/dashboard/assets/dashboard.js")
            #expect(script.status == 200 && script.headers["Content-Type"].first?.hasPrefix("text/javascript") == true)

            let missing = try await browser.get("/rollouts/default/nope")
            #expect(missing.status == 404 && missing.text.contains("There is no rollout &quot;nope&quot;"))

            let page = try await browser.get("/rollouts/default/web")
            #expect(page.status == 200 && page.text.contains("id=\"action-promote\" disabled"))
            let csrf = try #require(browser.csrf)

            // Without the CSRF token, or with another session's, nothing happens.
            let before = await resourceVersion(daemon)
            let without = try await browser.post("/dashboard/rollouts/default/web/abort", fields: [:])
            #expect(without.status == 403 && without.text.contains("CSRF"))
            let stranger = DashboardBrowser(base: daemon.base)
            try await stranger.get("/")
            let foreign = try await browser.post(
                "/dashboard/rollouts/default/web/abort", fields: [:], csrf: try #require(stranger.csrf))
            #expect(foreign.status == 403)
            // A promote from a page that showed a pause which has ended: refused, nothing changed.
            let stale = try await browser.post("/dashboard/rollouts/default/web/promote", fields: [:], csrf: csrf)
            #expect(stale.status == 409 && stale.text.contains("is not paused"), "\(stale.text)")
            #expect(await resourceVersion(daemon) == before, "the refused requests changed nothing")

            // Set image (a form field token, as a browser without script sends it), then promote.
            let setImage = try await browser.post(
                "/dashboard/rollouts/default/web/set-image",
                fields: ["csrf": csrf, "container": "web", "image": "sample-app:v2"], json: false)
            #expect(setImage.status == 303)
            #expect(setImage.headers["Location"].first == "/rollouts/default/web?done=set-image")
            #expect(await eventually(within: 90) { await rolloutPhase(daemon) == "Paused" })
            let promoted = try await browser.post("/dashboard/rollouts/default/web/promote", fields: [:], csrf: csrf)
            #expect(promoted.status == 200 && promoted.text.contains("Promoted"), "\(promoted.text)")
            #expect(await eventually(within: 90) { await rolloutPhase(daemon) == "Healthy" })
            // A pod's log link answers its log as plain text.
            let pods = (await daemon.call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
            let pod = try #require(pods.first?["name"] as? String)
            #expect(page.text.contains("/dashboard/pods/default/") && page.text.contains("/log\">log</a>"))
            let log = try await browser.get("/dashboard/pods/default/\(pod)/log")
            #expect(log.status == 200 && log.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            let done = try await browser.get("/rollouts/default/web?fragment=1")
            #expect(done.status == 200 && !done.text.contains("<html") && done.text.contains("sample-app:v2"))
        }
    }

    @Test(.timeLimit(.minutes(5))) func withATokenThePagesAskForItOnce() async throws {
        let token = "s3cret-\(UUID().uuidString)"
        let daemon = Daemon(token: token)
        do {
            try await daemon.start()
            let browser = DashboardBrowser(base: daemon.base)
            let first = try await browser.get("/rollouts/default/web")
            #expect(first.status == 303)
            #expect(first.headers["Location"].first == "/dashboard/login?next=%2Frollouts%2Fdefault%2Fweb")
            let login = try await browser.get("/dashboard/login?next=%2Frollouts%2Fdefault%2Fweb")
            #expect(login.status == 200 && login.text.contains("id=\"token\""))
            let anonymous = try #require(browser.cookie)
            let csrf = try #require(browser.csrf)

            let wrong = try await browser.post(
                "/dashboard/login", fields: ["csrf": csrf, "token": "nope", "next": "/"], json: false)
            #expect(wrong.status == 401 && wrong.text.contains("not the daemon&#39;s token"))
            let noCSRF = try await browser.post("/dashboard/login", fields: ["token": token], json: false)
            #expect(noCSRF.status == 403)
            let right = try await browser.post(
                "/dashboard/login", fields: ["csrf": csrf, "token": token, "next": "//evil.example/"], json: false)
            #expect(right.status == 303 && right.headers["Location"].first == "/", "an outside next goes home")
            #expect(browser.cookie != nil && browser.cookie != anonymous, "signing in gives a new session id")
            let list = try await browser.get("/")
            #expect(list.status == 200 && list.text.contains("Sign out"))

            // The API still wants the bearer token; the dashboard's session is not one.
            let api = try #require(await http(.GET, daemon.base + "/api/v1/rollouts", headers: browser.cookieHeader()))
            #expect(api.status == 401)
            let events = try #require(await http(.GET, daemon.base + "/dashboard/events", timeout: 10))
            #expect(events.status == 401)

            let signedIn = try #require(browser.cookie)
            let signOut = try await browser.post(
                "/dashboard/logout", fields: ["csrf": try #require(browser.csrf)], json: false)
            #expect(signOut.status == 303 && browser.cookie == nil)
            let after = try #require(
                await http(.GET, daemon.base + "/", headers: [("Cookie", signedIn)], followRedirects: false))
            #expect(after.status == 303, "the signed-out session is no longer taken")

            // Guessing: after ten wrong tokens in a minute, even the right one waits.
            let guesser = DashboardBrowser(base: daemon.base)
            try await guesser.get("/dashboard/login")
            let guesserCSRF = try #require(guesser.csrf)
            for attempt in 1...9 {
                let wrong = try await guesser.post(
                    "/dashboard/login", fields: ["csrf": guesserCSRF, "token": "guess-\(attempt)"], json: false)
                #expect(wrong.status == 401)
            }
            let held = try await guesser.post(
                "/dashboard/login", fields: ["csrf": guesserCSRF, "token": token], json: false)
            #expect(held.status == 429 && held.text.contains("Too many wrong tokens"), "\(held.status)")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test(.timeLimit(.minutes(5))) func readOnlyShowsNoControlsAndRefusesActions() async throws {
        try await Daemon.run(extraArguments: ["--dashboard", "read-only"]) { daemon in
            try await applyAndWaitHealthy(daemon)
            let browser = DashboardBrowser(base: daemon.base)
            let page = try await browser.get("/rollouts/default/web")
            #expect(page.status == 200 && !page.text.contains("<button") && page.text.contains("read-only"))
            let refused = try await browser.post(
                "/dashboard/rollouts/default/web/pause", fields: [:], csrf: try #require(browser.csrf))
            #expect(refused.status == 403 && refused.text.contains("read-only"))
            #expect(await rolloutPhase(daemon) == "Healthy")
        }
    }

    @Test(.timeLimit(.minutes(5))) func offServesNothingAtTheRoot() async throws {
        try await Daemon.run(extraArguments: ["--dashboard", "off"]) { daemon in
            let root = try #require(await http(.GET, daemon.base + "/", followRedirects: false))
            #expect(root.status == 404 && root.headers["Content-Type"].first == "application/json")
            let script = try #require(await http(.GET, daemon.base + "/dashboard/assets/dashboard.js"))
            #expect(script.status == 404)
        }
    }
}
