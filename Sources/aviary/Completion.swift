import ArgumentParser

/// `aviary completion bash|zsh|fish`.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a shell completion script for bash, zsh or fish.",
        discussion: """
            Examples:
              source <(aviary completion bash)
              aviary completion zsh > "${fpath[1]}/_aviary"
              aviary completion fish > ~/.config/fish/completions/aviary.fish
            """)

    @Argument(help: "The shell: bash, zsh or fish.")
    var shell: String

    func validate() throws {
        if CompletionShell(rawValue: shell) == nil { throw ValidationError("\(shell): use bash, zsh or fish") }
    }

    func run() {
        print(Aviary.completionScript(for: CompletionShell(rawValue: shell) ?? .bash))
    }
}
