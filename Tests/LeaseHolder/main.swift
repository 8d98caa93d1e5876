import AviaryKubernetes
import Dispatch
import Foundation

// Runs one candidate of a Lease election against an API server and prints one line per change of its own
// view, with the Unix time: `leading IDENTITY TIME`, `stopped IDENTITY TIME`, and `exiting IDENTITY TIME` after
// SIGTERM released the Lease.
// Usage: aviary-lease-holder SERVER_URL NAMESPACE LEASE_NAME IDENTITY LEASE_SECONDS RENEW_SECONDS RETRY_SECONDS

/// Writes one line to stdout at once (unbuffered, so a SIGKILL loses nothing printed).
func say(_ word: String, _ identity: String) {
    FileHandle.standardOutput.write(Data("\(word) \(identity) \(Date().timeIntervalSince1970)\n".utf8))
}

func holdLease(arguments: [String]) async throws -> Int32 {
    guard arguments.count == 8, let lease = Double(arguments[5]), let renew = Double(arguments[6]),
        let retry = Double(arguments[7])
    else {
        FileHandle.standardError.write(
            Data(
                "usage: aviary-lease-holder SERVER_URL NAMESPACE LEASE_NAME IDENTITY LEASE_SECONDS RENEW_SECONDS RETRY_SECONDS\n"
                    .utf8))
        return 2
    }
    let identity = arguments[4]
    let client = try KubernetesClient(configuration: ClientConfiguration(server: arguments[1]))
    let elector = LeaderElector(
        client: client,
        configuration: LeaderElectionConfiguration(
            namespace: arguments[2], name: arguments[3], identity: identity, leaseDuration: .seconds(lease),
            renewDeadline: .seconds(renew), retryPeriod: .seconds(retry)))
    // `stopped` is printed when the leader's work has ended, before the Lease is released: the line marks the
    // end of this replica's leadership as its own work saw it.
    let campaign = Task {
        while !Task.isCancelled {
            await elector.run(onStartedLeading: {
                say("leading", identity)
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                say("stopped", identity)
            })
        }
    }
    signal(SIGTERM, SIG_IGN)
    let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
    termination.setEventHandler { campaign.cancel() }
    termination.resume()
    await campaign.value
    try? await client.shutdown()
    say("exiting", identity)
    return 0
}

exit(try await holdLease(arguments: CommandLine.arguments))
