// libFuzzer entry for manifests: built by `scripts/fuzz manifest` against fuzzer-instrumented
// AviaryModel, AviaryExpression and AviaryCore (not part of the SwiftPM package). Every input
// is linted as one file (decoding, validation, the checks across documents and every
// condition) and each decoded resource is encoded back to JSON, as `apply` does; any crash,
// trap or hang is a bug, diagnostics are expected.
import AviaryCore
import AviaryModel
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let report = ManifestLinter.lint([LintInput(file: "fuzz.yaml", data: bytes)])
    _ = report.summary
    for diagnostic in report.diagnostics { _ = diagnostic.description }
    for document in ManifestDecoder().decode(bytes, file: "fuzz.yaml").documents {
        guard let resource = document.resource else { continue }
        _ = ManifestValidator.validate(resource)
        _ = try? ManifestEncoder.json(resource)
    }
    return 0
}
