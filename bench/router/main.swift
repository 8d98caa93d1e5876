// `aviary router --config FILE [--threads N]` without the rest of the CLI: the same
// `RouterProcess.run`, in a binary that builds in a fraction of the time of `aviary` (no
// database, TLS or HTTP client). bench/router/run uses it when ROUTER=slim.
import AviaryRouter
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("aviary-bench-router: \(message)\n".utf8))
    exit(2)
}

var options = RouterProcess.Options()
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
    switch flag {
    case "--config": options.configPath = value
    case "--threads":
        guard let threads = Int(value), threads > 0 else { fail("--threads \(value): give 1 or more") }
        options.threads = threads
    default: fail("unknown option \(flag); use --config FILE [--threads N]")
    }
}
guard options.configPath != nil else { fail("give --config FILE") }
do {
    try await RouterProcess.run(options) { line in
        FileHandle.standardError.write(Data("aviary router: \(line)\n".utf8))
    }
} catch {
    fail("\(error)")
}
