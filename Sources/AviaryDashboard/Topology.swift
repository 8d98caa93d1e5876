import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation

/// The picture of one rollout's Services, ReplicaSets and pods, with the share of traffic each
/// Service sends on its edge: the seed's kubeview picture, drawn as SVG on the server.
public enum Topology {
    /// A Service and the ReplicaSet its selector points at, with the share of live traffic it carries.
    public struct Edge: Sendable, Equatable {
        public var service: String
        public var role: String
        public var hash: String
        public var weight: String

        public init(service: String, role: String, hash: String, weight: String) {
            self.service = service
            self.role = role
            self.hash = hash
            self.weight = weight
        }
    }

    /// The Services of the rollout's strategy, the ReplicaSet each one selects and its traffic:
    /// stable and canary (`100 - w` and `w` of the canary weight), active (100%) and preview.
    public static func edges(rollout: Rollout, facts: RolloutFacts) -> [Edge] {
        var edges: [Edge] = []
        if let canary = rollout.spec.strategy.canary {
            let weight = facts.actualWeight ?? 0
            let stable = facts.stableHash ?? ""
            let canaryHash = facts.canaryHash ?? stable
            // With ping-pong the status says which of the two Services is the stable one now.
            let services = canary.splitServices(stablePingPong: rollout.status?.canary?.stablePingPong)
            if let service = services.stable {
                edges.append(Edge(service: service, role: "stable", hash: stable, weight: "\(100 - weight)%"))
            }
            if let service = services.canary {
                edges.append(
                    Edge(
                        service: service, role: "canary", hash: canaryHash,
                        weight: facts.canaryHash == nil ? "-" : "\(weight)%"))
            }
        } else if let blueGreen = rollout.spec.strategy.blueGreen {
            let active = facts.activeHash ?? ""
            edges.append(Edge(service: blueGreen.activeService, role: "active", hash: active, weight: "100%"))
            if let preview = blueGreen.previewService {
                edges.append(
                    Edge(service: preview, role: "preview", hash: facts.previewHash ?? active, weight: "preview"))
            }
        }
        return edges
    }

    static let boxWidth = 180.0
    static let boxHeight = 40.0
    static let podHeight = 30.0
    static let gap = 14.0
    static let columns = (service: 8.0, replicaSet: 268.0, pod: 528.0)

    /// The SVG: Services on the left, ReplicaSets in the middle (the live ones and those that have
    /// pods), pods on the right; an arrow from each Service to its ReplicaSet labelled with its
    /// traffic, a line from each ReplicaSet to its pods.
    public static func svg(
        rollout: Rollout, facts: RolloutFacts, replicaSets: [ReplicaSetView], pods: [PodView]
    ) -> HTML {
        let edges = edges(rollout: rollout, facts: facts)
        let selected = Set(edges.map(\.hash))
        let shown = replicaSets.filter { $0.replicas > 0 || selected.contains($0.podTemplateHash) }
            .sorted { $0.revision > $1.revision }
        guard !shown.isEmpty else { return "<p class=\"muted\">No ReplicaSet yet.</p>" }
        var body: [HTML] = []
        var y = gap
        var middleOf: [String: Double] = [:]
        for replicaSet in shown {
            let ownPods = pods.filter { $0.replicaSet == replicaSet.name }.sorted { $0.name < $1.name }
            let podsHeight = Double(ownPods.count) * (podHeight + 6)
            let rowHeight = max(boxHeight, podsHeight)
            let boxY = y + (rowHeight - boxHeight) / 2
            middleOf[replicaSet.podTemplateHash] = boxY + boxHeight / 2
            let roles = facts.roles(of: replicaSet.podTemplateHash)
            let title = "rev \(replicaSet.revision)" + (roles.isEmpty ? "" : " · " + roles.joined(separator: ", "))
            body.append(
                box(
                    x: columns.replicaSet, y: boxY, height: boxHeight,
                    kind: "replicaset " + roles.joined(separator: " "),
                    lines: [
                        title, "\(replicaSet.availableReplicas)/\(replicaSet.replicas) · \(replicaSet.podTemplateHash)",
                    ]))
            var podY = y + (rowHeight - podsHeight) / 2
            for pod in ownPods {
                let status = Style.podStatus(pod)
                body.append(
                    "<line class=\"edge\" x1=\"\(columns.replicaSet + boxWidth, decimals: 1)\" y1=\"\(boxY + boxHeight / 2, decimals: 1)\" x2=\"\(columns.pod, decimals: 1)\" y2=\"\(podY + podHeight / 2, decimals: 1)\"/>"
                )
                body.append(
                    box(
                        x: columns.pod, y: podY, height: podHeight,
                        kind: "pod " + (pod.ready ? "ready" : "not-ready"), lines: [pod.name], tooltip: status))
                podY += podHeight + 6
            }
            y += rowHeight + gap
        }
        // Services, each beside the ReplicaSet it selects.
        var serviceY = gap
        for edge in edges.sorted(by: { (middleOf[$0.hash] ?? .infinity) < (middleOf[$1.hash] ?? .infinity) }) {
            let target = middleOf[edge.hash]
            let boxY = max(serviceY, (target ?? serviceY + boxHeight / 2) - boxHeight / 2)
            body.append(
                box(
                    x: columns.service, y: boxY, height: boxHeight, kind: "service " + edge.role,
                    lines: [edge.service, edge.role]))
            if let target {
                let startY = boxY + boxHeight / 2
                body.append(
                    "<line class=\"edge traffic\" x1=\"\(columns.service + boxWidth, decimals: 1)\" y1=\"\(startY, decimals: 1)\" x2=\"\(columns.replicaSet - 4, decimals: 1)\" y2=\"\(target, decimals: 1)\" marker-end=\"url(#arrow)\"/>"
                )
                // The label sits near the Service, where the edges of two Services are still apart.
                let labelX = columns.service + boxWidth + 12
                let labelY = startY + (target - startY) * 12 / (columns.replicaSet - columns.service - boxWidth) - 6
                body.append(
                    "<text class=\"weight\" x=\"\(labelX, decimals: 1)\" y=\"\(labelY, decimals: 1)\">\(edge.weight)</text>"
                )
            }
            serviceY = boxY + boxHeight + gap
        }
        let height = max(y, serviceY)
        let width = columns.pod + boxWidth + 8
        let label = edges.map { "\($0.service) → \($0.role) \($0.weight)" }.joined(separator: ", ")
        return """
            <svg class="topology" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="Services, ReplicaSets and pods: \(label)">\
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">\
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>\(body)</svg>
            """
    }

    static func box(x: Double, y: Double, height: Double, kind: String, lines: [String], tooltip: String? = nil) -> HTML
    {
        var text: [HTML] = []
        let lineHeight = 15.0
        let firstY = y + height / 2 - Double(lines.count - 1) * lineHeight / 2 + 4
        for (index, line) in lines.enumerated() {
            let shown = line.count > 26 ? String(line.prefix(25)) + "…" : line
            text.append(
                "<text x=\"\(x + 10, decimals: 1)\" y=\"\(firstY + Double(index) * lineHeight, decimals: 1)\" class=\"\(index == 0 ? "name" : "detail")\">\(shown)</text>"
            )
        }
        let title = ([lines.joined(separator: " · ")] + (tooltip.map { [$0] } ?? [])).joined(separator: " · ")
        return """
            <g class="node \(kind)"><title>\(title)</title><rect x="\(x, decimals: 1)" y="\(y, decimals: 1)" width="\(boxWidth, decimals: 1)" height="\(height, decimals: 1)" rx="6"/>\(text)</g>
            """
    }
}
