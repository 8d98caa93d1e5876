// aviary-sample-app: the service Aviary's tests and demo roll out. See SampleServer.
import Foundation

let configuration: SampleAppConfiguration
do {
    configuration = try SampleAppConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("aviary-sample-app: \(error)\n".utf8))
    exit(2)
}
do {
    try await SampleServer.run(configuration)
} catch {
    FileHandle.standardError.write(Data("aviary-sample-app: \(error)\n".utf8))
    exit(1)
}
