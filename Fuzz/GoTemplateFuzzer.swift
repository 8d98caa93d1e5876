// libFuzzer entry for the Go template interpreter: built with the AviaryGoTemplate sources (or
// against the module) with `swiftc -sanitize=fuzzer`. The input up to its first NUL byte is a
// template; anything after the NUL is tried as JSON data. Each template is parsed and rendered
// against a fixed nested value (and the JSON, when it decodes). Errors are expected; any crash,
// trap or hang is a bug.
import Foundation

#if canImport(AviaryGoTemplate)
    import AviaryGoTemplate
#endif

/// Built per input rather than held in a global: an indirect enum's boxes are tagged pointers that
/// LeakSanitizer cannot follow from a static, so a global would be reported as leaked at exit.
private func makeFixedData() -> GoValue {
    .object([
        "rollout": .object([
            "metadata": .object(["name": .string("web"), "labels": .object(["app": .string("web")])]),
            "spec": .object([
                "replicas": .int(5),
                "strategy": .object([
                    "canary": .object(["steps": .array([.object(["setWeight": .int(20)]), .object([:])])])
                ]),
                "template": .object([
                    "spec": .object([
                        "containers": .array([
                            .object(["name": .string("web"), "image": .string("web:1")]),
                            .object(["name": .string("envoy"), "image": .string("envoy:1")]),
                        ])
                    ])
                ]),
            ]),
            "status": .object(["currentStepIndex": .int(1), "ratio": .double(0.25), "paused": .bool(false)]),
        ]),
        "nothing": .null,
        "list": .array([.int(1), .double(2.5), .string("three"), .null, .array([]), .object([:])]),
        "text": .string("héllo <world> & \"quotes\"\n"),
        "big": .int(Int64.max),
        "small": .int(Int64.min),
        "nan": .double(.nan),
        "inf": .double(.infinity),
    ])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let separator = bytes.firstIndex(of: 0) ?? bytes.count
    let text = String(decoding: bytes[..<separator], as: UTF8.self)
    guard let template = try? GoTemplate(name: "fuzz", text: text) else { return 0 }
    _ = try? template.render(makeFixedData())
    _ = try? template.render(.null)
    if separator < bytes.count, let data = try? GoValue(json: Data(bytes[(separator + 1)...])) {
        _ = try? template.render(data)
    }
    return 0
}
