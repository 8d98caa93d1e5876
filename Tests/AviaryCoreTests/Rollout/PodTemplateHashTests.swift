import AviaryJSON
import Testing

@testable import AviaryCore

@Suite struct PodTemplateHashTests {
    struct Template: Encodable {
        var image: String
        var labels: [String: String]
    }

    @Test func fnvMatchesReferenceVectors() {
        // Published FNV-1a 32-bit test vectors.
        #expect(PodTemplateHash.fnv1a32(Array("".utf8)) == 0x811c_9dc5)
        #expect(PodTemplateHash.fnv1a32(Array("a".utf8)) == 0xe40c_292c)
        #expect(PodTemplateHash.fnv1a32(Array("foobar".utf8)) == 0xbf9c_f968)
    }

    @Test func safeEncodingUsesKubernetesAlphabet() {
        // "0" is byte 48; 48 % 27 = 21 → "4"; "9" is 57 → 3 → "f".
        #expect(PodTemplateHash.safeEncode("09") == "4f")
    }

    @Test func sameTemplateSameHashRegardlessOfKeyOrder() {
        let first = Template(image: "app:1", labels: ["a": "1", "b": "2", "c": "3"])
        let second = Template(image: "app:1", labels: ["c": "3", "a": "1", "b": "2"])
        #expect(PodTemplateHash.compute(first) == PodTemplateHash.compute(second))
        #expect(PodTemplateHash.compute(first) != PodTemplateHash.compute(Template(image: "app:2", labels: [:])))
        // Pinned so that a change in encoding (which would orphan running ReplicaSets) is noticed.
        // FNV-1a of `{"image":"app:1","labels":{}}`, computed independently.
        #expect(PodTemplateHash.compute(Template(image: "app:1", labels: [:])) == "85ccd487dc")
    }
}

@Suite struct CanonicalJSONTests {
    struct Sample: Encodable {
        var name = "a\"b\\c/d\n\u{1}é"
        var count = 3
        var ratio = 1.5
        var whole = 30.0
        var flag = true
        var missing: String? = nil
        var list = [1, 2]
        var map = ["z": 1, "a": 2, "B": 3]
        // An opaque field (affinity, resources) holds JSONValue, whose integers are Int64: the
        // encoder once knew only Int, and recursed without end on these.
        var opaque: JSONValue = ["weight": 40, "big": .integer(9_007_199_254_740_993), "share": 0.5]
        var wide: Int64 = -7
        var small: UInt8 = 255
    }

    @Test func sortsKeysAndEscapesLikeJSONEncoder() throws {
        let bytes = try CanonicalJSON.encode(Sample())
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"count":3,"flag":true,"list":[1,2],"map":{"B":3,"a":2,"z":1},"name":"a\"b\\c/d\n\u0001é","opaque":{"big":9007199254740993,"share":0.5,"weight":40},"ratio":1.5,"small":255,"whole":30,"wide":-7}"#
        )
    }
}
