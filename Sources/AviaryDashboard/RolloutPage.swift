import AviaryAPI
import AviaryClient
import AviaryExpression
import AviaryModel
import Foundation

/// One rollout's page: the header of `aviary get rollout`, its controls, steps, traffic, picture,
/// revisions, ReplicaSets and pods, analysis charts and events.
public enum RolloutPage {
    /// The page's content from what the API answered.
    public static func content(
        _ snapshot: RolloutSnapshot, events: [EventList.Event], context: PageContext, notice: String? = nil
    ) -> HTML {
        let rollout = snapshot.rollout
        let facts = RolloutFacts(rollout: rollout, replicaSets: snapshot.replicaSets)
        let name = rollout.metadata.name ?? ""
        let namespace = rollout.metadata.namespace ?? "default"
        let noticeHTML: HTML = notice.map { "<p class=\"done\" role=\"status\" id=\"done\">\($0)</p>" } ?? .empty
        return """
            <p class="crumbs"><a href="/">Rollouts</a> / \(namespace)</p>\(noticeHTML)
            \(header(rollout, facts: facts, name: name, namespace: namespace))
            \(context.readOnly ? .empty : controls(snapshot, facts: facts, context: context))
            \(steps(rollout, now: context.now))
            \(traffic(rollout, facts: facts))
            <section aria-labelledby="picture-title"><h2 id="picture-title">Services, ReplicaSets and pods</h2>\
            \(Topology.svg(rollout: rollout, facts: facts, replicaSets: snapshot.replicaSets, pods: snapshot.pods))</section>
            \(revisions(snapshot, facts: facts, context: context))
            \(replicaSetsAndPods(snapshot, facts: facts, now: context.now, podLogs: context.podLogs))
            \(analysis(snapshot.analysisRuns, now: context.now))
            \(eventList(events, now: context.now))
            """
    }

    static func header(_ rollout: Rollout, facts: RolloutFacts, name: String, namespace: String) -> HTML {
        let status = rollout.status
        var rows: [(String, HTML)] = [("Strategy", "\(facts.strategy)")]
        if let step = facts.step { rows.append(("Step", "<span id=\"step\">\(step)</span>")) }
        if let weight = facts.setWeight { rows.append(("Set weight", "<span id=\"set-weight\">\(weight)%</span>")) }
        if let weight = facts.actualWeight {
            rows.append(("Actual weight", "<span id=\"actual-weight\">\(weight)%</span>"))
        }
        let images: [HTML] = facts.images.map { image in
            let roles: [HTML] = image.roles.map { "<span class=\"role \($0)\">\($0)</span>" }
            return "<li><code>\(image.image)</code> \(roles)</li>"
        }
        rows.append(("Images", images.isEmpty ? "-" : "<ul class=\"images\">\(images)</ul>"))
        rows.append(
            (
                "Replicas",
                "desired \(rollout.spec.replicasOrDefault) · current \(status?.replicas ?? 0) · updated \(status?.updatedReplicas ?? 0) · ready \(status?.readyReplicas ?? 0) · available \(status?.availableReplicas ?? 0)"
            ))
        let facts: [HTML] = rows.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" }
        let message: HTML =
            (status?.message).flatMap { $0.isEmpty ? nil : $0 }.map { "<p class=\"message\" id=\"message\">\($0)</p>" }
            ?? .empty
        return """
            <section class="summary" aria-labelledby="rollout-title"><h1 id="rollout-title">\(name) \
            <span id="status">\(Pages.badge(Style.rolloutStatus(rollout), phase: Pages.phaseClass(rollout)))</span></h1>\(message)\
            <dl class="facts">\(facts)</dl></section>
            """
    }

    /// The buttons, each disabled (with the reason as its title) where Argo would refuse it, and the set-image form.
    static func controls(_ snapshot: RolloutSnapshot, facts: RolloutFacts, context: PageContext) -> HTML {
        let rollout = snapshot.rollout
        let base =
            "/dashboard"
            + Pages.rolloutPath(
                namespace: rollout.metadata.namespace ?? "default", name: rollout.metadata.name ?? "")
        let buttons: [HTML] = DashboardAction.buttons.map { action in
            form(action, base: base, rollout: rollout, csrf: context.csrf)
        }
        let containers = rollout.spec.template?.spec.containers.map(\.name) ?? []
        let options: [HTML] = (containers + (containers.count > 1 ? ["*"] : [])).map {
            "<option value=\"\($0)\">\($0 == "*" ? "every container" : $0)</option>"
        }
        let setImage = DashboardAction.setImage(container: "", image: "")
        return """
            <section class="controls" aria-labelledby="controls-title"><h2 id="controls-title">Actions</h2>\
            <div class="buttons">\(buttons)</div>\
            <form class="set-image" method="post" action="\(base)/\(setImage.segment)" data-action="set-image" data-confirm="\(setImage.confirmation)">\
            <input type="hidden" name="csrf" value="\(context.csrf)">\
            <label for="image-container">Container</label><select id="image-container" name="container">\(options)</select>\
            <label for="image-name">Image</label><input id="image-name" name="image" required placeholder="registry/app:v2" spellcheck="false">\
            <button type="submit">Set image</button></form></section>
            """
    }

    static func form(
        _ action: DashboardAction, base: String, rollout: Rollout, csrf: String, fields: [(String, String)] = []
    ) -> HTML {
        let refusal = action.refusal(on: rollout)
        let disabled: HTML = refusal.map { " disabled title=\"\($0)\"" } ?? .empty
        let confirm: HTML = action.confirmation.map { " data-confirm=\"\($0)\"" } ?? .empty
        let hidden: [HTML] = fields.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1)\">" }
        return """
            <form method="post" action="\(base)/\(action.segment)" data-action="\(action.segment)"\(confirm)>\
            <input type="hidden" name="csrf" value="\(csrf)">\(hidden)\
            <button type="submit" id="action-\(action.segment)\(fields.first.map { "-" + $0.1 } ?? "")"\(disabled)>\(action.label)</button></form>
            """
    }

    /// What a step does, in words.
    public static func describe(_ step: CanaryStep) -> String {
        var parts: [String] = []
        if let weight = step.setWeight { parts.append("set weight \(weight)%") }
        if let pause = step.pause {
            parts.append(pause.duration.map { "pause \($0.description)" } ?? "pause until promoted")
        }
        if let scale = step.setCanaryScale {
            if let replicas = scale.replicas {
                parts.append("canary scale \(replicas) pods")
            } else if let weight = scale.weight {
                parts.append("canary scale \(weight)%")
            } else {
                parts.append("canary scale matches traffic")
            }
        }
        if let analysis = step.analysis {
            let names = (analysis.templates ?? []).compactMap(\.templateName)
            parts.append("analysis " + (names.isEmpty ? "" : names.joined(separator: ", ")))
        }
        if let experiment = step.experiment {
            parts.append("experiment " + experiment.templates.map(\.name).joined(separator: ", "))
        }
        if let route = step.setHeaderRoute {
            parts.append(
                (route.match ?? []).isEmpty ? "remove header route \(route.name)" : "header route \(route.name)")
        }
        if let route = step.setMirrorRoute {
            parts.append(
                (route.match ?? []).isEmpty
                    ? "remove mirror route \(route.name)" : "mirror route \(route.name) \(route.percentage ?? 100)%")
        }
        if let plugin = step.plugin { parts.append("plugin \(plugin.name)") }
        return parts.isEmpty ? "empty step" : parts.joined(separator: ", ")
    }

    /// The steps as a timeline: done ones, the current one (a timed pause counts down), the rest.
    static func steps(_ rollout: Rollout, now: Date) -> HTML {
        guard let canary = rollout.spec.strategy.canary else {
            guard let blueGreen = rollout.spec.strategy.blueGreen else { return .empty }
            let auto = blueGreen.autoPromotionEnabledOrDefault
            return """
                <section aria-labelledby="steps-title"><h2 id="steps-title">Promotion</h2><p>\
                \(auto ? "The preview becomes active by itself once it is ready." : "The preview becomes active when promoted.")\
                </p></section>
                """
        }
        let steps = canary.stepsOrEmpty
        guard !steps.isEmpty else {
            return
                "<section aria-labelledby=\"steps-title\"><h2 id=\"steps-title\">Steps</h2><p>No steps: a new version takes all traffic once ready.</p></section>"
        }
        let status = rollout.status
        let index = min(max(status?.currentStepIndex ?? 0, 0), steps.count)
        let pausedAt = status?.pauseConditions?.first { $0.reason == .canaryPauseStep }.flatMap {
            Style.date($0.startTime)
        }
        let items: [HTML] = steps.enumerated().map { offset, step in
            let state = offset < index ? "step-done" : offset == index ? "step-current" : "step-pending"
            var extra: HTML = .empty
            if offset == index, let duration = step.pause?.duration, duration.seconds.isFinite, let pausedAt {
                let until = pausedAt.addingTimeInterval(duration.seconds)
                let left = max(0, Int(until.timeIntervalSince(now).rounded(.up)))
                extra =
                    " <span class=\"countdown\" data-until=\"\(RFC3339.format(until))\">\(left)s left</span>"
            } else if offset == index, step.pause != nil, step.pause?.duration == nil, rollout.status?.phase == .paused
            {
                extra = " <span class=\"waiting\">waiting for Promote</span>"
            }
            let current: HTML = offset == index ? " aria-current=\"step\"" : .empty
            return
                "<li class=\"\(state)\"\(current)><span class=\"index\">\(offset + 1)</span> \(describe(step))\(extra)</li>"
        }
        return """
            <section aria-labelledby="steps-title"><h2 id="steps-title">Steps <span class="muted">\(index)/\(steps.count)</span></h2>\
            <ol class="steps">\(items)</ol></section>
            """
    }

    /// The traffic split as a bar, and the header and mirror routes the steps so far have set.
    static func traffic(_ rollout: Rollout, facts: RolloutFacts) -> HTML {
        guard let canary = rollout.spec.strategy.canary else { return .empty }
        let weight = min(100, max(0, facts.actualWeight ?? 0))
        let steps = canary.stepsOrEmpty
        let index = min(max(rollout.status?.currentStepIndex ?? 0, 0), steps.count)
        var headerRoutes: [String: String] = [:]
        var mirrorRoutes: [String: String] = [:]
        if index < steps.count {
            for step in steps[..<index] {
                if let route = step.setHeaderRoute {
                    let matches = (route.match ?? []).map { match in
                        let value = match.headerValue
                        let text =
                            value.exact.map { "= \($0)" } ?? value.prefix.map { "starting \($0)" }
                            ?? value.regex.map { "matching \($0)" } ?? ""
                        return "\(match.headerName) \(text)"
                    }
                    headerRoutes[route.name] = matches.isEmpty ? nil : matches.joined(separator: ", ")
                }
                if let route = step.setMirrorRoute {
                    mirrorRoutes[route.name] =
                        (route.match ?? []).isEmpty
                        ? nil : "\(route.percentage ?? 100)% of matching requests copied to the canary"
                }
            }
        }
        var routes: [HTML] = headerRoutes.sorted { $0.key < $1.key }.map {
            "<li>header route <strong>\($0.key)</strong>: requests with \($0.value) go to the canary</li>"
        }
        routes += mirrorRoutes.sorted { $0.key < $1.key }.map {
            "<li>mirror route <strong>\($0.key)</strong>: \($0.value)</li>"
        }
        let routeList: HTML = routes.isEmpty ? .empty : "<ul class=\"routes\">\(routes)</ul>"
        return """
            <section aria-labelledby="traffic-title"><h2 id="traffic-title">Traffic</h2>\
            <svg class="split" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="stable \(100 - weight)%, canary \(weight)%">\
            <rect class="stable" x="0" y="0" width="\(100 - weight)" height="8"/><rect class="canary" x="\(100 - weight)" y="0" width="\(weight)" height="8"/></svg>\
            <p class="legend"><span class="key stable"></span>stable <strong id="stable-share">\(100 - weight)%</strong> \
            <span class="key canary"></span>canary <strong id="canary-share">\(weight)%</strong></p>\(routeList)</section>
            """
    }

    static func revisions(_ snapshot: RolloutSnapshot, facts: RolloutFacts, context: PageContext) -> HTML {
        let rollout = snapshot.rollout
        let current = rollout.status?.currentPodHash
        let base =
            "/dashboard"
            + Pages.rolloutPath(
                namespace: rollout.metadata.namespace ?? "default", name: rollout.metadata.name ?? "")
        let rows: [HTML] = snapshot.replicaSets.sorted { $0.revision > $1.revision }.map { replicaSet in
            let roles: [HTML] = facts.roles(of: replicaSet.podTemplateHash).map {
                "<span class=\"role \($0)\">\($0)</span>"
            }
            let images = HTML(joining: replicaSet.images.map { "<code>\($0)</code>" }, separator: " ")
            let undo: HTML =
                context.readOnly || replicaSet.podTemplateHash == current
                ? .empty
                : form(
                    .undo(toRevision: replicaSet.revision), base: base, rollout: rollout, csrf: context.csrf,
                    fields: [("revision", String(replicaSet.revision))])
            return "<tr><td>\(replicaSet.revision)</td><td>\(images)</td><td>\(roles)</td><td>\(undo)</td></tr>"
        }
        guard !rows.isEmpty else { return .empty }
        return """
            <section aria-labelledby="revisions-title"><h2 id="revisions-title">Revisions</h2>\
            <table><thead><tr><th scope="col">Revision</th><th scope="col">Images</th><th scope="col">Role</th><th scope="col"><span class="visually-hidden">Undo</span></th></tr></thead>\
            <tbody>\(rows)</tbody></table></section>
            """
    }

    static func replicaSetsAndPods(_ snapshot: RolloutSnapshot, facts: RolloutFacts, now: Date, podLogs: Bool) -> HTML {
        var rows: [HTML] = []
        for replicaSet in snapshot.replicaSets.sorted(by: { $0.revision > $1.revision }) {
            let roles = facts.roles(of: replicaSet.podTemplateHash).joined(separator: ", ")
            rows.append(
                """
                <tr class="replicaset"><th scope="row">\(replicaSet.name)</th><td>ReplicaSet\(roles.isEmpty ? "" : " (" + roles + ")")</td>\
                <td>\(Style.replicaSetStatus(replicaSet))</td><td>\(replicaSet.readyReplicas)/\(replicaSet.replicas)</td><td></td>\
                <td>\(Style.age(since: replicaSet.createdAt, now: now))</td><td></td></tr>
                """)
            for pod in snapshot.pods.filter({ $0.replicaSet == replicaSet.name }).sorted(by: { $0.name < $1.name }) {
                let path = "/dashboard/pods/\(Pages.segment(pod.namespace))/\(Pages.segment(pod.name))/log"
                let log: HTML = podLogs ? "<a href=\"\(path)\">log</a>" : "-"
                rows.append(
                    """
                    <tr class="pod"><td>\(pod.name)</td><td>Pod</td><td>\(Style.podStatus(pod))</td>\
                    <td>\(pod.ready ? "ready" : "not ready")</td><td>\(pod.restarts)</td><td>\(Style.age(since: pod.createdAt, now: now))</td>\
                    <td>\(log)</td></tr>
                    """)
            }
        }
        guard !rows.isEmpty else { return .empty }
        return """
            <section aria-labelledby="pods-title"><h2 id="pods-title">ReplicaSets and pods</h2>\
            <table class="pods"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Ready</th>\
            <th scope="col">Restarts</th><th scope="col">Age</th><th scope="col">Log</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    /// How many measurements a metric's table lists (the chart shows them all).
    static let measurementRows = 10

    static func analysis(_ runs: [AnalysisRun], now: Date) -> HTML {
        guard !runs.isEmpty else { return .empty }
        let sorted = runs.sorted {
            ($0.metadata.creationTimestamp ?? "", $0.metadata.name ?? "") > (
                $1.metadata.creationTimestamp ?? "", $1.metadata.name ?? ""
            )
        }
        let sections: [HTML] = sorted.map { run in
            let phase = run.status?.phase ?? .pending
            let message: HTML =
                (run.status?.message).flatMap { $0.isEmpty ? nil : $0 }.map {
                    "<p class=\"message\">\($0)</p>"
                } ?? .empty
            let metrics: [HTML] = (run.status?.metricResults ?? []).map { result in
                let spec = run.spec.metrics.first { $0.name == result.name }
                let thresholds = [
                    Threshold.parse(resolved(spec?.successCondition, args: run.spec.args), kind: .success),
                    Threshold.parse(resolved(spec?.failureCondition, args: run.spec.args), kind: .failure),
                ].compactMap { $0 }
                var conditions: [HTML] = []
                if let condition = resolved(spec?.successCondition, args: run.spec.args) {
                    conditions.append("success when <code>\(condition)</code>")
                }
                if let condition = resolved(spec?.failureCondition, args: run.spec.args) {
                    conditions.append("failure when <code>\(condition)</code>")
                }
                let measurements = result.measurements ?? []
                let rows: [HTML] = measurements.suffix(measurementRows).reversed().map { measurement in
                    let failed = measurement.phase == .failed || measurement.phase == .error
                    let note: HTML = failed ? "\(measurement.message ?? "")" : .empty
                    return """
                        <tr class="\(measurement.phase.rawValue.lowercased())"><td>\(Style.analysisStatus(measurement.phase))</td>\
                        <td><code>\(measurement.value ?? "-")</code></td><td>\(measurement.finishedAt ?? measurement.startedAt ?? "-")</td><td>\(note)</td></tr>
                        """
                }
                let resultMessage: HTML = result.message.map { "<p class=\"message\">\($0)</p>" } ?? .empty
                return """
                    <div class="metric"><h4>\(result.name) \(Pages.badge(Style.analysisStatus(result.phase), phase: result.phase.rawValue))</h4>\
                    <p class="muted">\(HTML(joining: conditions, separator: "; "))</p>\(resultMessage)\
                    \(MetricChart.svg(metric: result.name, measurements: measurements, thresholds: thresholds))\
                    <details><summary>Measurements (\(measurements.count))</summary><table class="measurements"><thead><tr><th scope="col">Phase</th><th scope="col">Value</th>\
                    <th scope="col">Finished</th><th scope="col">Message</th></tr></thead><tbody>\(rows)</tbody></table></details></div>
                    """
            }
            return """
                <section class="run" data-run="\(run.metadata.name ?? "")"><h3>\(run.metadata.name ?? "") \(Pages.badge(Style.analysisStatus(phase), phase: phase.rawValue))</h3>\
                \(message)\(metrics)</section>
                """
        }
        return
            "<section aria-labelledby=\"analysis-title\"><h2 id=\"analysis-title\">Analysis</h2>\(sections)</section>"
    }

    /// A condition with the run's literal arguments put in (`result >= {{args.minimum}}` with
    /// minimum 0.95 is `result >= 0.95`), by the substitution the run itself uses; as written when
    /// a tag names an argument without a literal value (a secret, a field reference).
    static func resolved(_ condition: String?, args: [Argument]?) -> String? {
        guard let condition, condition.contains("{{") else { return condition }
        var values: [String: String] = [:]
        for argument in args ?? [] { values[argument.name] = argument.value }
        return (try? Template.substitute(condition, args: values)) ?? condition
    }

    static func eventList(_ events: [EventList.Event], now: Date) -> HTML {
        guard !events.isEmpty else { return .empty }
        let items: [HTML] = events.reversed().map { event in
            """
            <li class="\(event.type.lowercased())"><span class="age">\(Style.age(since: Style.date(event.time), now: now))</span> \
            <strong>\(event.reason)</strong> \(event.message)</li>
            """
        }
        return
            "<section aria-labelledby=\"events-title\"><h2 id=\"events-title\">Events</h2><ol class=\"events\">\(items)</ol></section>"
    }
}
