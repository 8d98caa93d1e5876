import Foundation
import Testing

@testable import AviaryGoTemplate

@Suite("GoValue decodes JSON the way Argo's data reaches templates")
struct GoValueTests {
    @Test func decodesEveryJSONShape() throws {
        let value = try GoValue(
            json: Data(#"{"b":true,"i":3,"f":2.5,"s":"x","n":null,"l":[1,false],"o":{"k":"v"}}"#.utf8))
        #expect(
            value
                == .object([
                    "b": .bool(true), "i": .int(3), "f": .double(2.5), "s": .string("x"), "n": .null,
                    "l": .array([.int(1), .bool(false)]), "o": .object(["k": .string("v")]),
                ]))
    }

    @Test func numbersKeepTheirKind() throws {
        let value = try GoValue(
            json: Data("[1, 0, 1.0, -7, 9223372036854775807, 12345678901234567890, 1e300, true]".utf8))
        #expect(
            value
                == .array([
                    .int(1), .int(0), .int(1), .int(-7), .int(Int64.max), .double(12_345_678_901_234_567_168),
                    .double(1e300), .bool(true),
                ]))
    }

    @Test func acceptsNativeSwiftValues() {
        let value = GoValue(
            jsonObject: ["flag": true, "count": 2, "ratio": 0.5, "name": "n", "none": NSNull()] as [String: Any])
        #expect(
            value
                == .object([
                    "flag": .bool(true), "count": .int(2), "ratio": .double(0.5), "name": .string("n"), "none": .null,
                ]))
    }

    @Test func rejectsInvalidAndTooDeepJSON() {
        #expect(throws: GoValueDecodingError.self) { try GoValue(json: Data("{".utf8)) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: GoValueDecodingError.self) { try GoValue(json: Data(deep.utf8)) }
    }

    @Test func templatesAreSendableAndReusable() async throws {
        let template = try GoTemplate(name: "shared", text: "{{.n}}")
        let results = await withTaskGroup(of: String.self) { group in
            for number in 0..<8 {
                group.addTask { (try? template.render(.object(["n": .int(Int64(number))]))) ?? "" }
            }
            var collected: [String] = []
            for await result in group { collected.append(result) }
            return collected.sorted()
        }
        #expect(results == (0..<8).map(String.init))
    }
}
