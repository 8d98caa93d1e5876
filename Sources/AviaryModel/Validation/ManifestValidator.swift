/// The field rules of Argo Rollouts for one resource, each problem with its field path.
public enum ManifestValidator {
    /// Every problem in `resource` (cross-document checks live in `aviary lint`).
    public static func validate(_ resource: AnyResource) -> [FieldIssue] {
        []
    }
}
