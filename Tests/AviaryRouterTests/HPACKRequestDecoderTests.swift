import NIOCore
import NIOHPACK
import Testing

@testable import AviaryRouter

/// The router's own HPACK decoder for client header blocks: RFC 7541's examples, the table's
/// eviction, every way a block can be wrong, and agreement with NIO's decoder on what NIO's
/// encoder writes.
struct HPACKRequestDecoderTests {
    private static func bytes(_ hex: String) -> ByteBuffer {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return ByteBuffer(
            bytes: stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! })
    }

    private static func pairs(_ block: HeaderBlock) -> [String] {
        block.fields.map { "\($0.name): \($0.value)" }
    }

    private static let firstRequest = [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"]

    /// RFC 7541 C.3 (plain strings) and C.4 (Huffman-coded): three requests on one connection,
    /// with the table's size after each.
    @Test(
        "RFC 7541's request examples decode, with the table's size after each",
        arguments: [
            [
                "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                "8286 84be 5808 6e6f 2d63 6163 6865",
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ],
            [
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                "8286 84be 5886 a8eb 1064 9cbf",
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ],
        ])
    func rfcExamples(blocks: [String]) throws {
        var decoder = HPACKRequestDecoder(maxListSize: 16_384)
        let expected = [
            Self.firstRequest,
            Self.firstRequest + ["cache-control: no-cache"],
            [
                ":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com",
                "custom-key: custom-value",
            ],
        ]
        for (index, hex) in blocks.enumerated() {
            let block = try decoder.decode(Self.bytes(hex))
            #expect(Self.pairs(block) == expected[index], "request \(index + 1)")
            #expect(decoder.tableSize == [57, 110, 164][index], "the table's size after request \(index + 1)")
            #expect(decoder.tableCount == index + 1)
        }
    }

    @Test("a smaller table evicts its oldest entries, and an entry larger than the table empties it")
    func eviction() throws {
        var decoder = HPACKRequestDecoder(maxListSize: 16_384)
        // A size update to 100 (3f 45), then "a: 1" (34 bytes) and "bb: 22" (36) indexed.
        let first = try decoder.decode(Self.bytes("3f45 4001 6101 31 4002 6262 0232 32"))
        #expect(Self.pairs(first) == ["a: 1", "bb: 22"])
        #expect(decoder.tableSize == 70)
        // "ccc: 333" (38) makes 108 > 100: "a" goes; 62 is now "ccc", 63 "bb".
        let second = try decoder.decode(Self.bytes("4003 6363 6303 3333 33 be bf"))
        #expect(Self.pairs(second) == ["ccc: 333", "ccc: 333", "bb: 22"])
        #expect(decoder.tableSize == 74)
        #expect(throws: HPACKRequestDecoder.DecodeError.self) { try decoder.decode(Self.bytes("c0")) }
        // A 70-byte value (102 with its name) does not fit: the table is emptied.
        let long = String(repeating: "v", count: 70)
        var block = ByteBuffer(bytes: [0x40, 0x01, UInt8(ascii: "d"), 70])
        block.writeString(long)
        #expect(Self.pairs(try decoder.decode(block)) == ["d: \(long)"])
        #expect(decoder.tableCount == 0)
        #expect(decoder.tableSize == 0)
        // A size update to 0 empties it too, and later ones may raise it again up to 4,096.
        _ = try decoder.decode(Self.bytes("3fe1 1f 4001 6101 31"))
        #expect(decoder.tableCapacity == 4096)
        #expect(decoder.tableCount == 1)
        _ = try decoder.decode(Self.bytes("20"))
        #expect(decoder.tableCount == 0)
    }

    @Test(
        "a block that cannot be decoded is refused, saying why",
        arguments: [
            ("80", "no table entry 0"),
            ("be", "no table entry 62"),
            ("ff ff ff ff ff 7f", "over 2^28"),
            // Zeros that only shift, then a bit that would land at 2^63: refused, never negative.
            ("ff 80 80 80 80 80 80 80 80 80 01", "over 2^28"),
            ("40 ff 80 80 80 80 80 80 80 80 80 01 61", "over 2^28"),
            ("ff", "cut short"),
            ("4005 61", "string cut short"),
            ("3fe2 1f", "over 4096"),
            ("4001 6100 20", "after a field"),
            ("20 20 20", "a third one"),
            ("4081 ff01 31", "Huffman"),
            ("0001 6109 3132 3334 3536 3738 39", "header list over 40"),
        ])
    func refused(hex: String, reason: String) {
        var decoder = HPACKRequestDecoder(maxListSize: 40)
        #expect(throws: HPACKRequestDecoder.DecodeError.self) { try decoder.decode(Self.bytes(hex)) }
        do {
            _ = try decoder.decode(Self.bytes(hex))
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    /// Blocks as NIO's encoder writes them (plain or Huffman, indexed or not, never indexed),
    /// one connection's worth in a row: the router's decoder reads what NIO's does, field by
    /// field, with the same indexing, and keeps its table in step across blocks.
    @Test("blocks from NIO's encoder decode as NIO decodes them", arguments: [false, true])
    func agreesWithNIO(huffman: Bool) throws {
        var generator = SplitMix(seed: huffman ? 7 : 11)
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: huffman)
        var reference = HPACKDecoder(allocator: ByteBufferAllocator())
        var decoder = HPACKRequestDecoder(maxListSize: 1 << 20)
        let names = [":path", ":authority", "user-agent", "cookie", "x-request-id", "content-type", "te", "accept"]
        let indexings: [HPACKIndexing] = [.indexable, .indexable, .nonIndexable, .neverIndexed]
        for round in 0..<300 {
            var headers = HPACKHeaders()
            for _ in 0..<(1 + generator.next() % 8) {
                let name = names[generator.next() % names.count]
                // Few distinct values, so that many fields go by index; some long ones evict.
                let value = String(repeating: "v\(generator.next() % 5)é", count: 1 + generator.next() % 40)
                headers.add(name: name, value: value, indexing: indexings[generator.next() % indexings.count])
            }
            var buffer = ByteBuffer()
            try encoder.encode(headers: headers, to: &buffer)
            var copy = buffer
            let expected = try reference.decodeHeaders(from: &copy)
            let decoded = try decoder.decode(buffer)
            #expect(
                decoded.fields.map { "\($0.name)=\($0.value)/\($0.indexing)" }
                    == expected.map { "\($0.name)=\($0.value)/\($0.indexable)" }, "block \(round)")
            #expect(
                decoded.fields.map(\.kind) == decoded.fields.map { HeaderBlock.Kind(name: $0.name, value: $0.value) })
        }
    }

    @Test(
        "a field's kind says what the router checks and routes by",
        arguments: [
            (":method", "GET", HeaderBlock.Kind(role: .pseudo, pseudoBit: 1)),
            (":authority", "a", HeaderBlock.Kind(role: .pseudo, pseudoBit: 8)),
            (":status", "200", HeaderBlock.Kind(role: .pseudo)),
            ("", "x", HeaderBlock.Kind(role: .unnamed, nameIsValid: false)),
            ("Host", "a", HeaderBlock.Kind(role: .other, nameIsValid: false)),
            ("host", "a\r\nb", HeaderBlock.Kind(role: .host, valueIsValid: false)),
            ("te", "trailers", HeaderBlock.Kind(role: .te, isSpecialValue: true)),
            ("te", "gzip", HeaderBlock.Kind(role: .te)),
            ("content-length", "12", HeaderBlock.Kind(role: .contentLength, length: 12)),
            ("content-length", "1 2", HeaderBlock.Kind(role: .contentLength)),
            ("content-type", "application/grpc+proto", HeaderBlock.Kind(role: .contentType, isSpecialValue: true)),
            ("keep-alive", "5", HeaderBlock.Kind(role: .connectionSpecific)),
            ("x-forwarded-for", "1.2.3.4", HeaderBlock.Kind(role: .forwardedFor)),
            ("cookie", "a=b", HeaderBlock.Kind(role: .cookie)),
        ] as [(String, String, HeaderBlock.Kind)])
    func kinds(name: String, value: String, kind: HeaderBlock.Kind) {
        #expect(HeaderBlock.Kind(name: name, value: value) == kind)
    }

    @Test("the static table is RFC 7541's, each entry with its kind")
    func staticTable() {
        #expect(HTTP2Wire.staticFields.count == 61)
        #expect(HTTP2Wire.staticFields[1].name == ":method" && HTTP2Wire.staticFields[1].value == "GET")
        #expect(HTTP2Wire.staticFields[1].kind.pseudoBit == 1)
        #expect(HTTP2Wire.staticFields[15].value == "gzip, deflate")
        #expect(HTTP2Wire.staticFields[27].kind.role == .contentLength)
        #expect(HTTP2Wire.staticFields[60].name == "www-authenticate")
    }
}

/// A small seeded generator, so a failing round can be run again.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
    }
}
