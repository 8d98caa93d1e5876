import ArgumentParser
import AviaryModel

/// The root of the `aviary` command line: each verb lives in its own file as a subcommand.
@main
struct Aviary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aviary",
        abstract:
            "Progressive delivery for one host or a cluster: canary and blue-green rollouts checked against Prometheus.",
        version: aviaryVersion,
        subcommands: [
            Version.self,
            Lint.self,
            Plan.self,
            Serve.self,
            Apply.self,
            Delete.self,
            Get.self,
            SetCommand.self,
            Promote.self,
            Abort.self,
            Logs.self,
            Router.self,
            AnalysisCommand.self,
            DemoCommand.self,
            List.self,
            Retry.self,
            Terminate.self,
            Undo.self,
            Pause.self,
            Restart.self,
            Status.self,
            Completion.self,
            PrometheusConfig.self,
            Install.self,
            Events.self,
            Notifications.self,
        ]
    )
}

/// `aviary version`: prints the version of this build.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the version of Aviary.",
        discussion: """
            Needs no daemon; `aviary --version` prints the bare number.

            Example:
              aviary version
            """)

    func run() {
        print("aviary \(aviaryVersion)")
    }
}
