import ArgumentParser
import Testing

@testable import aviary

/// Every verb parses its arguments (and refuses bad ones) without running.
@Suite struct CLIParsingTests {
    static let accepted: [[String]] = [
        ["version"],
        ["get", "rollout", "web"],
        ["get", "rollout", "web", "--watch", "--no-color", "-n", "shop", "--server", "127.0.0.1:9000"],
        ["get", "rollout", "web", "-o", "wide"],
        ["get", "rollout", "web", "-o", "json"],
        ["get", "rollout", "web", "-o", "yaml"],
        ["get", "analysisrun", "web-abc-2-1", "--no-color"],
        ["list", "rollouts"],
        ["list", "rollouts", "--watch", "-n", "shop"],
        ["list", "rollouts", "-A"],
        ["list", "rollouts", "--all-namespaces", "-o", "wide"],
        ["list", "rollouts", "-A", "--watch", "--no-color"],
        ["list", "analysisruns", "--rollout", "web"],
        ["list", "analysisruns", "-A"],
        ["list", "analysisruns", "--all-namespaces", "--no-color"],
        ["get", "rollout", "web", "-o", "wide", "--watch"],
        ["set", "image", "web", "app=sample-app:green"],
        ["set", "image", "web", "*=sample-app:green"],
        ["promote", "web"],
        ["promote", "web", "--full"],
        ["abort", "web"],
        ["retry", "rollout", "web"],
        ["undo", "web"],
        ["undo", "web", "--to-revision", "3"],
        ["pause", "web"],
        ["restart", "web"],
        ["restart", "web", "--in", "10m"],
        ["status", "web"],
        ["status", "web", "--watch", "--timeout", "5m"],
        ["status", "web", "-w", "-t", "90"],
        ["apply", "-f", "rollout.yaml"],
        ["delete", "rollout", "web"],
        ["logs", "web-abc-x1"],
        ["completion", "bash"],
        ["completion", "zsh"],
        ["completion", "fish"],
    ]

    static let refused: [[String]] = [
        ["get", "rollout"],
        ["get", "rollout", "web", "-o", "xml"],
        ["get", "rollout", "web", "-o", "json", "--watch"],
        ["set", "image", "web", "sample-app:green"],
        ["undo", "web", "--to-revision", "0"],
        ["restart", "web", "--in", "soon"],
        ["status", "web", "--timeout", "5m"],
        ["status", "web", "--watch", "--timeout", "forever"],
        ["retry", "web"],
        ["completion", "powershell"],
        ["list", "rollouts", "--bogus"],
        ["list", "rollouts", "-o", "json"],
        ["get", "rollout", "web", "-A"],
    ]

    @Test(arguments: accepted)
    func parses(_ arguments: [String]) throws {
        _ = try Aviary.parseAsRoot(arguments)
    }

    @Test(arguments: refused)
    func refuses(_ arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try Aviary.parseAsRoot(arguments) }
    }

    @Test func globalOptionsReachTheVerb() throws {
        let command = try Aviary.parseAsRoot(["undo", "web", "--to-revision", "2", "-n", "shop", "--server", "h:1"])
        let undo = try #require(command as? Undo)
        #expect(undo.toRevision == 2 && undo.options.namespace == "shop" && undo.options.server == "h:1")
        let get = try #require(try Aviary.parseAsRoot(["get", "rollout", "web"]) as? GetRollout)
        #expect(get.options.namespace == "default")
        let restart = try #require(try Aviary.parseAsRoot(["restart", "web", "--in", "1h30m"]) as? Restart)
        #expect(restart.delay?.seconds == 5400)
    }

    @Test func allNamespacesAndWideReachTheListVerbs() throws {
        let all = try #require(try Aviary.parseAsRoot(["list", "rollouts", "-A", "-o", "wide"]) as? ListRollouts)
        #expect(all.all.allNamespaces && all.output == "wide")
        let one = try #require(try Aviary.parseAsRoot(["list", "rollouts", "-n", "shop"]) as? ListRollouts)
        #expect(!one.all.allNamespaces && one.options.namespace == "shop" && one.output == "text")
        let runs = try #require(
            try Aviary.parseAsRoot(["list", "analysisruns", "--all-namespaces"]) as? ListAnalysisRuns)
        #expect(runs.all.allNamespaces)
        let wide = try #require(try Aviary.parseAsRoot(["get", "rollout", "web", "-o", "wide"]) as? GetRollout)
        #expect(wide.output == "wide" && wide.format == .text)
    }

    @Test func completionScriptsNameTheVerbs() {
        for shell in [CompletionShell.bash, .zsh, .fish] {
            let script = Aviary.completionScript(for: shell)
            #expect(script.contains("rollouts") && script.contains("promote"))
        }
    }
}
