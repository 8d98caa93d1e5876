import Foundation

/// The kubeconfig `--kubeconfig-out` writes: one cluster, one user (with the bearer token when
/// the double requires one), context `aviary-test`, set as the current context.
public enum Kubeconfig {
    public static func make(server: String, token: String?) -> String {
        let user = token.map { "    token: \($0)\n" } ?? "    {}\n"
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: aviary-test
              cluster:
                server: \(server)
            users:
            - name: aviary-test
              user:
            \(user)contexts:
            - name: aviary-test
              context:
                cluster: aviary-test
                user: aviary-test
                namespace: default
            current-context: aviary-test

            """
    }
}
