import AviaryJSON
import Foundation
import Testing

/// The one JSONValue that the manifests, the Kubernetes client and the API server double share:
/// its text, its paths and its Codable form.
@Suite struct JSONValueTests {
    static let written: [(value: JSONValue, text: String)] = [
        (.null, "null"),
        (.bool(true), "true"),
        (.integer(.max), "9223372036854775807"),
        (.integer(-3), "-3"),
        (.double(1.5), "1.5"),
        // A whole double is written as an integer, as Go's encoder writes it.
        (.double(2), "2"),
        (.double(-0.25), "-0.25"),
        // JSON has no NaN or infinity.
        (.double(.nan), "null"),
        (.double(.infinity), "null"),
        (.string("a\"b\\c/d"), #""a\"b\\c/d""#),
        (.string("line\nnext\ttab\r\u{1}"), #""line\nnext\ttab\r\u0001""#),
        // As JSONEncoder writes them: the pod-template hash depends on these bytes.
        (.string("\u{8}\u{c}\u{1f}"), #""\b\f\u001f""#),
        (.string("é ✓"), "\"é ✓\""),
        (.array([]), "[]"),
        (.array([1, "x", .null]), #"[1,"x",null]"#),
        // Members in key order, so equal values give equal text.
        (["b": 1, "a": ["d": true, "c": []]], #"{"a":{"c":[],"d":true},"b":1}"#),
    ]

    @Test(arguments: written) func theTextOfAValue(value: JSONValue, text: String) throws {
        #expect(value.serializedString() == text)
        #expect(String(decoding: value.serialized(), as: UTF8.self) == text)
    }

    /// What was written is read back the same (NaN and infinity aside, which have no JSON).
    @Test(arguments: written.filter { $0.text != "null" || $0.value == .null })
    func aWrittenValueReadsBackEqual(value: JSONValue, text: String) throws {
        #expect(try JSONValue(parsing: value.serialized()) == value.normalizedWholeDoubles)
    }

    @Test func membersAndPathsAreSetAndRead() {
        var value: JSONValue = ["metadata": ["name": "web"]]
        #expect(value[path: "metadata", "name"] == "web")
        #expect(value[path: ["metadata", "labels", "app"]] == nil)
        // Setting a path creates the objects on the way.
        value[path: "metadata", "labels", "app"] = "web"
        #expect(value == ["metadata": ["name": "web", "labels": ["app": "web"]]])
        // Setting nil removes the member.
        value[path: "metadata", "name"] = nil
        #expect(value == ["metadata": ["labels": ["app": "web"]]])
        // Setting a member of a value that is not an object makes it one.
        var scalar: JSONValue = "text"
        scalar["key"] = 1
        #expect(scalar == ["key": 1])
        // The empty path is the whole value.
        value[path: []] = nil
        #expect(value == .null)
        #expect(JSONValue.string("x")["key"] == nil)
    }

    @Test func accessorsAnswerOnlyForTheirKind() {
        let values: [JSONValue] = [.null, true, 7, .double(7.5), "s", [1], ["k": 1]]
        #expect(values.map(\.kindDescription) == ["null", "a boolean", "a number", "a number", "a string", "a list", "a mapping"])
        #expect(values.compactMap(\.boolValue) == [true])
        #expect(values.compactMap(\.integerValue) == [7])
        #expect(values.compactMap(\.stringValue) == ["s"])
        #expect(values.compactMap(\.arrayValue) == [[1]])
        #expect(values.compactMap(\.objectValue) == [["k": 1]])
    }

    /// Codable keeps integers apart from doubles, through JSON and through a typed value.
    @Test func codableKeepsIntegersExact() throws {
        let text = #"{"big":9007199254740993,"half":0.5,"list":[null,false,"x"]}"#
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(decoded == ["big": .integer(9_007_199_254_740_993), "half": .double(0.5), "list": [.null, false, "x"]])
        #expect(decoded.serializedString() == text)

        struct Typed: Codable, Equatable {
            var name: String
            var replicas: Int
        }
        let typed = try JSONValue(encoding: Typed(name: "web", replicas: 3))
        #expect(typed == ["name": "web", "replicas": 3])
        #expect(try typed.decoded(as: Typed.self) == Typed(name: "web", replicas: 3))
    }
}

extension JSONValue {
    /// The value as its text reads back: a whole double comes back as an integer.
    fileprivate var normalizedWholeDoubles: JSONValue {
        switch self {
        case .double(let number) where number.rounded() == number && abs(number) < 1e15: .integer(Int64(number))
        case .array(let elements): .array(elements.map(\.normalizedWholeDoubles))
        case .object(let members): .object(members.mapValues(\.normalizedWholeDoubles))
        default: self
        }
    }
}
