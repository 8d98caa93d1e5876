import AviaryAPI
import AviaryClient
import AviaryDashboard
import AviaryModel
import Foundation
import Testing

/// Rollouts as the API sends them, for the pages.
enum Fixtures {
    static func rollout(
        name: String, namespace: String = "default", phase: String, message: String = "", image: String = "app:v1",
        step: Int = 1
    ) throws -> Rollout {
        let json = """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
             "metadata": {"name": "\(name)", "namespace": "\(namespace)", "creationTimestamp": "2026-12-03T10:00:00Z"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": \(quoted(image))}]}},
               "strategy": {"canary": {"stableService": "web-stable", "canaryService": "web-canary",
                 "steps": [{"setWeight": 20}, {"pause": {}}, {"setHeaderRoute": {"name": "beta", "match": [{"headerName": "X-Beta", "headerValue": {"exact": "yes"}}]}}, {"setWeight": 50}, {"pause": {"duration": "30s"}}]}}},
             "status": {"phase": "\(phase)", "message": \(quoted(message)), "currentStepIndex": \(step),
               "stableRS": "aaa", "currentPodHash": "bbb", "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-12-03T10:00:00Z"}],
               "canary": {"weights": {"canary": {"weight": 20, "podTemplateHash": "bbb"}, "stable": {"weight": 80, "podTemplateHash": "aaa"}}}}}
            """
        return try JSONDecoder().decode(Rollout.self, from: Data(json.utf8))
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    static func replicaSet(_ hash: String, revision: Int, image: String) -> ReplicaSetView {
        ReplicaSetView(
            name: "web-\(hash)", namespace: "default", rollout: "web", podTemplateHash: hash, revision: revision,
            replicas: 1, readyReplicas: 1, availableReplicas: 1, images: [image],
            createdAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    static let context = PageContext(
        csrf: "TOKEN", readOnly: false, signedIn: false, now: Date(timeIntervalSince1970: 1_796_292_000))
}

@Suite struct ListPageTests {
    @Test func filtersByNamespaceStatusAndTextAndCountsPerStatus() throws {
        let rollouts = [
            try Fixtures.rollout(name: "web", phase: "Paused"),
            try Fixtures.rollout(name: "api", phase: "Healthy", image: "api:v3"),
            try Fixtures.rollout(name: "jobs", namespace: "batch", phase: "Degraded", message: "analysis failed"),
        ]
        let now = Fixtures.context.now
        #expect(
            ListPage.rows(rollouts, filter: ListPage.Filter(), now: now).rows.map(\.name) == ["jobs", "api", "web"])
        let inDefault = ListPage.rows(rollouts, filter: ListPage.Filter(namespace: "default"), now: now)
        #expect(inDefault.rows.map(\.name) == ["api", "web"])
        #expect(inDefault.counts == ["paused": 1, "healthy": 1])
        let paused = ListPage.rows(rollouts, filter: ListPage.Filter(status: "paused"), now: now)
        #expect(paused.rows.map(\.name) == ["web"] && paused.counts["degraded"] == 1)
        #expect(ListPage.rows(rollouts, filter: ListPage.Filter(text: "API:V3"), now: now).rows.map(\.name) == ["api"])
        #expect(ListPage.rows(rollouts, filter: ListPage.Filter(text: "failed"), now: now).rows.map(\.name) == ["jobs"])
        let row = try #require(paused.rows.first)
        #expect(row.step == "1/5" && row.weight == "20%" && row.status == "॥ Paused")
    }

    @Test func theFilterRoundTripsThroughItsQuery() {
        let filter = ListPage.Filter(namespace: "team a", status: "paused", text: "v2&x")
        var query: [String: String] = [:]
        for pair in filter.query.split(separator: "&") {
            let parts = pair.split(separator: "=")
            query[String(parts[0])] = String(parts[1]).removingPercentEncoding
        }
        #expect(ListPage.Filter(query: query) == filter)
    }

    @Test func htmlInARolloutIsShownAsText() throws {
        let rollout = try Fixtures.rollout(
            name: "web", phase: "Degraded", message: "<script>alert('m')</script>",
            image: "app:<img src=x onerror=alert(1)>")
        let page = Pages.document(
            title: "Rollouts",
            content: ListPage.content([rollout], filter: ListPage.Filter(), context: Fixtures.context),
            context: Fixtures.context
        ).text
        #expect(!page.contains("<script>alert") && !page.contains("<img"))
        #expect(page.contains("&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt;"))
        #expect(page.contains("app:&lt;img src=x onerror=alert(1)&gt;"))
        // The only script is the daemon's own file.
        #expect(
            page.components(separatedBy: "<script").count == 2
                && page.contains("<script src=\"/dashboard/assets/dashboard.js\""))
    }
}

@Suite struct RolloutPageTests {
    func snapshot(message: String = "", image: String = "app:v2", phase: String = "Paused") throws -> RolloutSnapshot {
        RolloutSnapshot(
            rollout: try Fixtures.rollout(name: "web", phase: phase, message: message, image: image, step: 3),
            replicaSets: [
                Fixtures.replicaSet("aaa", revision: 1, image: "app:v1"),
                Fixtures.replicaSet("bbb", revision: 2, image: image),
            ],
            pods: [], analysisRuns: [])
    }

    @Test func theHeaderStepsTrafficAndControlsFollowTheRollout() throws {
        let page = RolloutPage.content(try snapshot(), events: [], context: Fixtures.context).text
        #expect(page.contains("<span id=\"step\">3/5</span>"))
        #expect(page.contains("id=\"canary-share\">20%<") && page.contains("id=\"stable-share\">80%<"))
        // Steps 1-3 are done, the fourth is current; the header route of step 3 is in effect.
        #expect(page.components(separatedBy: "class=\"step-done\"").count - 1 == 3)
        #expect(
            page.contains(
                "<li class=\"step-current\" aria-current=\"step\"><span class=\"index\">4</span> set weight 50%"))
        #expect(page.contains("header route <strong>beta</strong>: requests with X-Beta = yes go to the canary"))
        // Paused: promote is live, retry and resume are not.
        #expect(page.contains("id=\"action-promote\">Promote</button>"))
        #expect(page.contains("id=\"action-retry\" disabled title=\"rollout &quot;web&quot; is not aborted"))
        #expect(page.contains("data-confirm=\"Abort? All traffic goes back"))
        // Undo is offered for revision 1 only (2 is current).
        #expect(page.contains("id=\"action-undo-1\"") && !page.contains("id=\"action-undo-2\""))
    }

    @Test func readOnlyShowsNoControls() throws {
        var context = Fixtures.context
        context.readOnly = true
        let page = RolloutPage.content(try snapshot(), events: [], context: context).text
        #expect(!page.contains("<form") && !page.contains("<button"))
    }

    @Test func aTimedPauseCountsDown() throws {
        var snapshot = try snapshot()
        snapshot.rollout.status?.currentStepIndex = 4
        let page = RolloutPage.content(snapshot, events: [], context: Fixtures.context).text
        // Paused at 10:00:00 for 30 s.
        #expect(page.contains("data-until=\"2026-12-03T10:00:30Z\""))
    }

    @Test func htmlInAMessageOrImageIsShownAsText() throws {
        let page = RolloutPage.content(
            try snapshot(message: "<script>steal()</script>", image: "x\"><script>y()</script>"),
            events: [EventList.Event(type: "Warning", reason: "<b>", message: "<i>", time: "2026-12-03T10:00:00Z")],
            context: Fixtures.context
        ).text
        #expect(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<i>"))
        #expect(page.contains("&lt;script&gt;steal()&lt;/script&gt;"))
        #expect(page.contains("x&quot;&gt;&lt;script&gt;y()&lt;/script&gt;"))
    }

    @Test func thePictureLinksEachServiceToItsReplicaSetWithItsWeight() throws {
        let snapshot = try snapshot()
        let facts = RolloutFacts(rollout: snapshot.rollout, replicaSets: snapshot.replicaSets)
        let edges = Topology.edges(rollout: snapshot.rollout, facts: facts)
        #expect(
            edges == [
                Topology.Edge(service: "web-stable", role: "stable", hash: "aaa", weight: "80%"),
                Topology.Edge(service: "web-canary", role: "canary", hash: "bbb", weight: "20%"),
            ])
        let svg = Topology.svg(rollout: snapshot.rollout, facts: facts, replicaSets: snapshot.replicaSets, pods: [])
            .text
        #expect(svg.contains("web-stable → stable 80%, web-canary → canary 20%"))
    }
}

@Suite struct RolloutListingTests {
    @Test func theListingsRowIsTheFullRolloutsRow() throws {
        let rollouts = [
            try Fixtures.rollout(name: "web", phase: "Paused", message: "waiting"),
            try Fixtures.rollout(name: "jobs", namespace: "batch", phase: "Degraded", image: "jobs:v9", step: 0),
        ]
        var blueGreen = try Fixtures.rollout(name: "bg", phase: "Healthy")
        blueGreen.spec.strategy = RolloutStrategy(blueGreen: BlueGreenStrategy(activeService: "bg-active"))
        for rollout in rollouts + [blueGreen] {
            let json = try JSONEncoder().encode(rollout)
            let listed = try JSONDecoder().decode(RolloutListing.self, from: json).rollout
            let now = Fixtures.context.now
            #expect(ListPage.Row(listed, now: now) == ListPage.Row(rollout, now: now), "\(rollout.metadata.name ?? "")")
        }
    }
}
