import ArgumentParser
import Testing

@testable import aviary

/// A command line and what it parses to.
struct ParseCase: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var summary: String
    init(_ arguments: [String], _ summary: String) {
        self.arguments = arguments
        self.summary = summary
    }
    var testDescription: String { arguments.joined(separator: " ") }
}

/// Every verb parses its arguments (and refuses bad ones) without running.
@Suite struct CLIParsingTests {
    /// Command lines that parse, and what each says (see `parsedSummary`).
    static let accepted: [ParseCase] = [
        ParseCase(["version"], "version"),
        ParseCase(["get", "rollout", "web"], "get rollout web output=text watch=false noColor=false -n default"),
        ParseCase(
            ["get", "rollout", "web", "--watch", "--no-color", "-n", "shop", "--server", "127.0.0.1:9000"],
            "get rollout web output=text watch=true noColor=true -n shop server=127.0.0.1:9000"),
        ParseCase(
            ["get", "rollout", "web", "-o", "wide"], "get rollout web output=wide watch=false noColor=false -n default"),
        ParseCase(
            ["get", "rollout", "web", "-o", "json"], "get rollout web output=json watch=false noColor=false -n default"),
        ParseCase(
            ["get", "rollout", "web", "-o", "yaml"], "get rollout web output=yaml watch=false noColor=false -n default"),
        ParseCase(
            ["get", "analysisrun", "web-abc-2-1", "--no-color"], "get analysisrun web-abc-2-1 noColor=true -n default"),
        ParseCase(["list", "rollouts"], "list rollouts output=text watch=false noColor=false all=false -n default"),
        ParseCase(
            ["list", "rollouts", "--watch", "-n", "shop"],
            "list rollouts output=text watch=true noColor=false all=false -n shop"),
        ParseCase(
            ["list", "rollouts", "-A"], "list rollouts output=text watch=false noColor=false all=true -n default"),
        ParseCase(
            ["list", "rollouts", "--all-namespaces", "-o", "wide"],
            "list rollouts output=wide watch=false noColor=false all=true -n default"),
        ParseCase(
            ["list", "rollouts", "-A", "--watch", "--no-color"],
            "list rollouts output=text watch=true noColor=true all=true -n default"),
        ParseCase(
            ["list", "analysisruns", "--rollout", "web"],
            "list analysisruns rollout=web noColor=false all=false -n default"),
        ParseCase(["list", "analysisruns", "-A"], "list analysisruns rollout=any noColor=false all=true -n default"),
        ParseCase(
            ["list", "analysisruns", "--all-namespaces", "--no-color"],
            "list analysisruns rollout=any noColor=true all=true -n default"),
        ParseCase(
            ["get", "rollout", "web", "-o", "wide", "--watch"],
            "get rollout web output=wide watch=true noColor=false -n default"),
        ParseCase(["set", "image", "web", "app=sample-app:green"], "set image web app=sample-app:green -n default"),
        ParseCase(["set", "image", "web", "*=sample-app:green"], "set image web *=sample-app:green -n default"),
        ParseCase(["promote", "web"], "promote web full=false -n default"),
        ParseCase(["promote", "web", "--full"], "promote web full=true -n default"),
        ParseCase(["abort", "web"], "abort web -n default"),
        ParseCase(["retry", "rollout", "web"], "retry rollout web -n default"),
        ParseCase(["retry", "web"], "retry rollout web -n default"),
        ParseCase(["undo", "web"], "undo web toRevision=previous -n default"),
        ParseCase(["undo", "web", "--to-revision", "3"], "undo web toRevision=3 -n default"),
        ParseCase(["pause", "web"], "pause web -n default"),
        ParseCase(["restart", "web"], "restart web in=none -n default"),
        ParseCase(["restart", "web", "--in", "10m"], "restart web in=600.0s -n default"),
        ParseCase(["status", "web"], "status web watch=false timeout=none -n default"),
        ParseCase(["status", "web", "--watch", "--timeout", "5m"], "status web watch=true timeout=300.0s -n default"),
        ParseCase(["status", "web", "-w", "-t", "90"], "status web watch=true timeout=90.0s -n default"),
        ParseCase(["apply", "-f", "rollout.yaml"], #"apply files=["rollout.yaml"] -n default"#),
        ParseCase(["delete", "rollout", "web"], "delete rollout web -n default"),
        ParseCase(["logs", "web-abc-x1"], "logs web-abc-x1 -n default"),
        ParseCase(["completion", "bash"], "completion bash"),
        ParseCase(["completion", "zsh"], "completion zsh"),
        ParseCase(["completion", "fish"], "completion fish"),
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
        ["retry"],
        ["completion", "powershell"],
        ["list", "rollouts", "--bogus"],
        ["list", "rollouts", "-o", "json"],
        ["get", "rollout", "web", "-A"],
    ]

    @Test(arguments: accepted)
    func parses(_ line: ParseCase) throws {
        #expect(parsedSummary(try Aviary.parseAsRoot(line.arguments)) == line.summary)
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
