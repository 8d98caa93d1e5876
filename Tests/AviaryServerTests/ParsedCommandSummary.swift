import ArgumentParser

@testable import aviary

/// What a parsed command line says, written out field by field (`verb name=value ...`), so a
/// test can state exactly what parsing produced. Server options appear only when not the defaults.
func parsedSummary(_ command: any ParsableCommand) -> String {
    func server(_ options: ServerOptions) -> String {
        var parts = ["-n \(options.namespace)"]
        if let address = options.server { parts.append("server=\(address)") }
        if let token = options.token { parts.append("token=\(token)") }
        return parts.joined(separator: " ")
    }
    func seconds(_ duration: DurationArgument?) -> String { duration.map { "\($0.seconds)s" } ?? "none" }
    switch command {
    case is Version:
        return "version"
    case let get as GetRollout:
        return "get rollout \(get.name) output=\(get.output) watch=\(get.watch) noColor=\(get.noColor) "
            + server(get.options)
    case let get as GetAnalysisRun:
        return "get analysisrun \(get.name) noColor=\(get.noColor) " + server(get.options)
    case let list as ListRollouts:
        return "list rollouts output=\(list.output) watch=\(list.watch) noColor=\(list.noColor) "
            + "all=\(list.all.allNamespaces) " + server(list.options)
    case let list as ListAnalysisRuns:
        return "list analysisruns rollout=\(list.rollout ?? "any") noColor=\(list.noColor) "
            + "all=\(list.all.allNamespaces) " + server(list.options)
    case let set as SetImage:
        return "set image \(set.rollout) \(set.assignment) " + server(set.options)
    case let promote as Promote:
        return "promote \(promote.rollout) full=\(promote.full) " + server(promote.options)
    case let abort as Abort:
        return "abort \(abort.rollout) " + server(abort.options)
    case let retry as RetryRollout:
        return "retry rollout \(retry.rollout) " + server(retry.options)
    case let undo as Undo:
        return "undo \(undo.rollout) toRevision=\(undo.toRevision.map(String.init) ?? "previous") "
            + server(undo.options)
    case let pause as Pause:
        return "pause \(pause.rollout) " + server(pause.options)
    case let restart as Restart:
        return "restart \(restart.rollout) in=\(seconds(restart.delay)) " + server(restart.options)
    case let status as Status:
        return "status \(status.rollout) watch=\(status.watch) timeout=\(seconds(status.timeout)) "
            + server(status.options)
    case let apply as Apply:
        return "apply files=\(apply.file) " + server(apply.options)
    case let delete as Delete:
        return "delete \(delete.kind) \(delete.name) " + server(delete.options)
    case let logs as Logs:
        return "logs \(logs.pod) " + server(logs.options)
    case let completion as Completion:
        return "completion \(completion.shell)"
    default:
        return "unsummarised \(type(of: command))"
    }
}
