// libFuzzer entry for the condition language: built by scripts/fuzz-expr together with the
// AviaryExpression sources (not part of the SwiftPM package). Every input is parsed, evaluated
// and substituted; any crash, trap or hang is a bug, errors are expected.
import Foundation

private let environment: [String: ExprValue] = [
    "result": [0.97, 0.5, 12.0, .float(.nan), .float(.infinity)],
    "scalar": 0.95,
    "m": ["a": 1.0, "b": ["c": "x"], "n": nil, "items": [["value": "9950"], ["value": "1"]]],
    "s": "hello world",
    "nilv": nil,
    "i": 3,
    "$now": .time(Date(timeIntervalSince1970: 1_700_000_000)),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let expression = try? Expression(text) {
        _ = try? expression.evaluate(environment)
        _ = try? expression.evaluateCondition(environment)
    }
    _ = try? Template.substitute(text, args: ["x": "1", "name": "result[0]"])
    return 0
}
