import AviaryClient
import AviaryModel
import Foundation

/// The list of rollouts: every rollout at a glance, filtered by namespace, status and text.
public enum ListPage {
    /// What the filter form asks for (the query `?namespace=&status=&q=`); empty means any.
    public struct Filter: Sendable, Equatable {
        public var namespace: String
        public var status: String
        public var text: String

        public init(namespace: String = "", status: String = "", text: String = "") {
            self.namespace = namespace
            self.status = status
            self.text = text
        }

        /// The filter of a query's parameters.
        public init(query: [String: String]) {
            namespace = query["namespace"] ?? ""
            status = (query["status"] ?? "").lowercased()
            text = (query["q"] ?? "").trimmingCharacters(in: .whitespaces)
        }

        /// The query that gives this filter back (empty for no filter).
        public var query: String {
            var parts: [String] = []
            for (key, value) in [("namespace", namespace), ("status", status), ("q", text)] where !value.isEmpty {
                parts.append(key + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            }
            return parts.joined(separator: "&")
        }
    }

    /// One row: what `aviary list rollouts` shows, plus images, age and message.
    public struct Row: Sendable, Equatable {
        public var name: String
        public var namespace: String
        public var strategy: String
        public var status: String
        public var phase: String
        public var step: String
        public var weight: String
        public var images: [String]
        public var age: String
        public var message: String

        public init(_ rollout: Rollout, now: Date) {
            let facts = RolloutFacts(rollout: rollout, replicaSets: [])
            name = rollout.metadata.name ?? ""
            namespace = rollout.metadata.namespace ?? "default"
            strategy = facts.strategy
            status = facts.status
            phase = Pages.phaseClass(rollout)
            step = facts.step ?? "-"
            weight = (rollout.status?.canary?.weights?.canary.weight ?? facts.setWeight).map { "\($0)%" } ?? "-"
            images = facts.images.map(\.image)
            age = Style.age(since: Style.date(rollout.metadata.creationTimestamp), now: now)
            message = rollout.status?.message ?? ""
        }

        /// Whether the text filter finds this row: in its name, namespace, images or message.
        func matches(text: String) -> Bool {
            guard !text.isEmpty else { return true }
            let needle = text.lowercased()
            return ([name, namespace, message] + images).contains { $0.lowercased().contains(needle) }
        }
    }

    /// The statuses the filter offers, in Argo's order.
    public static let statuses = ["healthy", "progressing", "paused", "degraded", "waiting"]

    /// The rows the filter keeps, by namespace and name, and the count of each status among the
    /// rows its namespace and text keep (so the counts say what the status filter would show).
    public static func rows(_ rollouts: [Rollout], filter: Filter, now: Date) -> (rows: [Row], counts: [String: Int]) {
        var counts: [String: Int] = [:]
        var kept: [Row] = []
        for rollout in rollouts {
            if !filter.namespace.isEmpty, (rollout.metadata.namespace ?? "default") != filter.namespace { continue }
            let row = Row(rollout, now: now)
            guard row.matches(text: filter.text) else { continue }
            counts[row.phase, default: 0] += 1
            if filter.status.isEmpty || row.phase == filter.status { kept.append(row) }
        }
        kept.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        return (kept, counts)
    }

    /// The page's content: the filter form, the counts and the table.
    public static func content(_ rollouts: [Rollout], filter: Filter, context: PageContext) -> HTML {
        let (rows, counts) = rows(rollouts, filter: filter, now: context.now)
        let namespaces = Set(rollouts.map { $0.metadata.namespace ?? "default" }).union(
            filter.namespace.isEmpty ? [] : [filter.namespace]
        ).sorted()
        let namespaceOptions: [HTML] =
            ["<option value=\"\">all namespaces</option>"]
            + namespaces.map { namespace in
                "<option value=\"\(namespace)\"\(selected(namespace == filter.namespace))>\(namespace)</option>"
            }
        let statusOptions: [HTML] =
            ["<option value=\"\">any status</option>"]
            + statuses.map { status in
                "<option value=\"\(status)\"\(selected(status == filter.status))>\(status.capitalized)</option>"
            }
        let countItems: [HTML] = statuses.map { status in
            var query = filter
            query.status = status
            let current: HTML = status == filter.status ? " aria-current=\"true\"" : .empty
            return
                "<li><a class=\"count \(status)\" href=\"/?\(query.query)\"\(current)><span class=\"number\" data-status=\"\(status)\">\(counts[status] ?? 0)</span> \(status.capitalized)</a></li>"
        }
        let tableRows: [HTML] = rows.map { row in
            let images = HTML(joining: row.images.map { "<code>\($0)</code>" }, separator: "<br>")
            return """
                <tr data-rollout="\(row.namespace)/\(row.name)"><td><a href="\(Pages.rolloutPath(namespace: row.namespace, name: row.name))">\(row.name)</a></td>\
                <td>\(row.namespace)</td><td>\(row.strategy)</td><td>\(Pages.badge(row.status, phase: row.phase))</td>\
                <td>\(row.step)</td><td>\(row.weight)</td><td>\(images)</td><td>\(row.age)</td><td class="message">\(row.message)</td></tr>
                """
        }
        let table: HTML =
            rows.isEmpty
            ? (rollouts.isEmpty
                ? "<p class=\"empty\" id=\"no-rollouts\">No rollouts yet: <code>aviary apply -f rollout.yaml</code> starts one.</p>"
                : "<p class=\"empty\" id=\"no-rollouts\">No rollout matches this filter. <a href=\"/\">Show all</a></p>")
            : """
            <table class="rollouts"><caption class="visually-hidden">Rollouts</caption><thead><tr><th scope="col">Name</th><th scope="col">Namespace</th><th scope="col">Strategy</th>\
            <th scope="col">Status</th><th scope="col">Step</th><th scope="col">Weight</th><th scope="col">Images</th><th scope="col">Age</th><th scope="col">Message</th></tr></thead>\
            <tbody>\(tableRows)</tbody></table>
            """
        return """
            <h1>Rollouts <span class="total">\(rows.count) of \(rollouts.count)</span></h1>
            <form class="filter" method="get" action="/" role="search">\
            <label for="filter-namespace">Namespace</label><select id="filter-namespace" name="namespace">\(namespaceOptions)</select>\
            <label for="filter-status">Status</label><select id="filter-status" name="status">\(statusOptions)</select>\
            <label for="filter-text">Text</label><input id="filter-text" name="q" type="search" value="\(filter.text)" placeholder="name, image or message">\
            <button type="submit">Filter</button></form>
            <ul class="counts">\(countItems)</ul>
            \(table)
            """
    }

    static func selected(_ isSelected: Bool) -> HTML { isSelected ? " selected" : .empty }
}
