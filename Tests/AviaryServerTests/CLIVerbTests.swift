import ArgumentParser
import Testing

@testable import aviary

/// Verbs parse to the command and the values a user means, including the short forms.
@Suite struct CLIVerbTests {
    @Test(arguments: [["retry", "web"], ["retry", "rollout", "web"]])
    func retryTakesTheRolloutWithOrWithoutTheWordRollout(arguments: [String]) throws {
        let command = try Aviary.parseAsRoot(arguments)
        let retry = try #require(command as? RetryRollout)
        #expect(retry.rollout == "web")
    }

    @Test func retryWithoutANameIsRefused() {
        #expect(throws: (any Error).self) { try Aviary.parseAsRoot(["retry"]) }
    }
}
