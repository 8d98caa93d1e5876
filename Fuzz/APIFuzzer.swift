// libFuzzer entry for the API's request decoding: built by `scripts/fuzz api` from
// Sources/AviaryAPI (compiled as the module AviaryAPI, without
// Hummingbird) against fuzzer-instrumented AviaryModel. The first input line picks what is
// decoded: an operation name with a query string (`image?x=1`), a resource type from the URL
// (`kind rollouts`) or an apply body (`apply`); the rest of the input is the body. Any crash,
// trap or hang is a bug, APIErrors are expected.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPIRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let head = String(decoding: bytes[bytes.startIndex..<newline], as: UTF8.self)
    let body = newline < bytes.endIndex ? Data(bytes[(newline + 1)...]) : Data()
    if head == "apply" {
        do {
            _ = try APIRequestDecoding.manifests(body, file: "request body")
        } catch {
            _ = error.body
        }
    } else if head.hasPrefix("kind ") {
        _ = try? ResourceKind.kind(for: String(head.dropFirst(5)))
    } else {
        let parts = head.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[String(field[0])] = field.count > 1 ? String(field[1]) : ""
        }
        _ = try? APIRequestDecoding.operation(String(parts.first ?? ""), query: { query[$0] }, body: body)
    }
    return 0
}
