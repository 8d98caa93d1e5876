import AviaryExpression
import AviaryModel

/// Parses every condition and range-query expression of a template or run, so that a typo is
/// found by `aviary lint` rather than by the first measurement of a rollout.
enum ConditionChecks {
    /// Problems in the metrics' expressions, with paths such as `spec.metrics[0].successCondition`.
    static func check(_ metrics: [Metric]) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        for (index, metric) in metrics.enumerated() {
            let path = "spec.metrics[\(index)]"
            var expressions: [(String, String?)] = [
                ("\(path).successCondition", metric.successCondition),
                ("\(path).failureCondition", metric.failureCondition),
            ]
            if let range = metric.provider.prometheus?.rangeQuery {
                expressions += [
                    ("\(path).provider.prometheus.rangeQuery.start", range.start),
                    ("\(path).provider.prometheus.rangeQuery.end", range.end),
                ]
            }
            for case (let fieldPath, let source?) in expressions {
                if let message = problem(in: source) {
                    issues.append(FieldIssue(fieldPath, message))
                }
            }
        }
        return issues
    }

    /// Why `source` does not parse, or nil when it does.
    ///
    /// `{{args.x}}` tags are resolved only when a run starts, so each is read as the literal `0`
    /// (inside quotes it stays a string); a column after a tag then counts the shortened text,
    /// which the message says.
    static func problem(in source: String) -> String? {
        let (text, hadTags) = withTagsReplaced(source)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return "must not be empty; write a condition such as result[0] >= 0.95, or remove the field"
        }
        do {
            _ = try Expression(text)
            return nil
        } catch {
            return hadTags ? "\(error) (in \"\(text)\", with each {{...}} read as 0)" : error.description
        }
    }

    private static func withTagsReplaced(_ source: String) -> (String, Bool) {
        var result = ""
        var rest = Substring(source)
        var hadTags = false
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            result += rest[..<open.lowerBound]
            result += "0"
            rest = rest[close.upperBound...]
            hadTags = true
        }
        result += rest
        return (result, hadTags)
    }
}
