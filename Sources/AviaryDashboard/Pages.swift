import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation

/// What every page needs besides its data: the session's CSRF token, whether controls show, the time.
public struct PageContext: Sendable {
    /// The CSRF token every form and every `fetch` of the page carries.
    public var csrf: String
    /// `--dashboard read-only`: no controls.
    public var readOnly: Bool
    /// The daemon has a token, so the person signed in (and may sign out).
    public var signedIn: Bool
    /// Now, for ages and countdowns.
    public var now: Date
    /// Pods have logs the page links to (the local platform's).
    public var podLogs: Bool

    public init(csrf: String, readOnly: Bool, signedIn: Bool, now: Date, podLogs: Bool = true) {
        self.podLogs = podLogs
        self.csrf = csrf
        self.readOnly = readOnly
        self.signedIn = signedIn
        self.now = now
    }
}

/// The dashboard's pages as HTML: pure functions of what the API answered, so that tests compare
/// them and the benchmark times them without a daemon.
public enum Pages {
    /// A whole page: the head (stylesheet and script from the daemon, nothing inline), the top bar
    /// and `content` in `<main id="content">`. `live` is the events URL the script follows and
    /// `fragment` the URL it fetches the new content from on each change.
    public static func document(
        title: String, content: HTML, context: PageContext, live: String? = nil, fragment: String? = nil
    ) -> HTML {
        let signOut: HTML =
            context.signedIn
            ? """
            <form method="post" action="/dashboard/logout" class="signout"><input type="hidden" name="csrf" value="\(context.csrf)">\
            <button type="submit">Sign out</button></form>
            """ : .empty
        let mode: HTML =
            context.readOnly ? "<span class=\"badge muted\" title=\"--dashboard read-only\">read-only</span>" : .empty
        let liveAttributes: HTML =
            live.map { url in " data-live=\"\(url)\" data-fragment=\"\(fragment ?? "")\"" } ?? .empty
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <meta name="csrf-token" content="\(context.csrf)"><title>\(title) · Aviary</title>\
            <link rel="stylesheet" href="/dashboard/assets/dashboard.css"><script src="/dashboard/assets/dashboard.js" defer></script>\
            </head><body\(liveAttributes)>
            <header class="top"><a class="brand" href="/">Aviary</a><nav aria-label="Main"><a href="/">Rollouts</a></nav>\(mode)\(signOut)</header>
            <div id="connection" class="banner" role="status" hidden>Lost the daemon; reconnecting…</div>
            <div id="notice" role="status" aria-live="polite"></div>
            <main id="content">\(content)</main>
            </body></html>
            """
    }

    /// The page of a path that names nothing: a rollout that does not exist, say.
    public static func notFound(_ message: String, context: PageContext) -> HTML {
        document(
            title: "Not found",
            content: """
                <h1>Not found</h1><p class="error" id="not-found">\(message)</p><p><a href="/">All rollouts</a></p>
                """, context: context)
    }

    /// The sign-in page of a daemon with a token.
    public static func login(next: String, error: String?, csrf: String) -> HTML {
        let message: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"login-error\">\($0)</p>" } ?? .empty
        let context = PageContext(csrf: csrf, readOnly: false, signedIn: false, now: Date())
        return document(
            title: "Sign in",
            content: """
                <section class="login"><h1>Sign in</h1>\
                <p>This daemon was started with a token (<code>--token-file</code> or <code>AVIARY_TOKEN</code>). Enter it to see and steer its rollouts.</p>\(message)\
                <form method="post" action="/dashboard/login"><input type="hidden" name="csrf" value="\(csrf)">\
                <input type="hidden" name="next" value="\(next)">\
                <label for="token">Token</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>\
                <button type="submit" id="sign-in">Sign in</button></form></section>
                """, context: context)
    }

    /// A path segment or query value: percent-encoded.
    public static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }

    /// The path of a rollout's page.
    public static func rolloutPath(namespace: String, name: String) -> String {
        "/rollouts/\(segment(namespace))/\(segment(name))"
    }

    /// A status as a badge: `<span class="status paused">Paused</span>` (the CLI's icon left out:
    /// the colour and the word say it, and not every font has ॥).
    static func badge(_ text: String, phase: String) -> HTML {
        var word = Substring(text)
        if let space = word.firstIndex(of: " "), word[..<space].count == 1 { word = word[word.index(after: space)...] }
        return "<span class=\"status \(phase.lowercased())\">\(String(word))</span>"
    }

    static func phaseClass(_ rollout: Rollout) -> String {
        rollout.status?.phase?.rawValue.lowercased() ?? "waiting"
    }
}
