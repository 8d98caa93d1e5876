import Foundation
import Testing

@testable import AviaryGoPlugin

// The fixtures are the bytes Go 1.19's encoding/gob writes: each `static let` below is the output
// of one `enc.Encode(x)`, one gob.Encoder per stream, each stream in a fresh Go process (gob's
// type ids are process-wide). The Go program, in short:
//
//     type Request struct{ ServiceMethod string; Seq uint64 }
//     type Response struct{ ServiceMethod string; Seq uint64; Error string }
//     type Time struct{ time.Time }                            // as metav1.Time
//     type TypeMeta struct{ Kind, APIVersion string }
//     type ObjectMeta struct{ Name, Namespace, UID string; Generation int64; CreationTimestamp Time
//         DeletionTimestamp *Time; DeletionGracePeriodSeconds *int64; Labels map[string]string }
//     type Argument struct{ Name string; Value *string }
//     type AnalysisRunSpec struct{ Args []Argument; Terminate bool }
//     type AnalysisRun struct{ TypeMeta; ObjectMeta; Spec AnalysisRunSpec }
//     type IntOrString struct{ Type int64; IntVal int32; StrVal string }
//     type MetricProvider struct{ Plugin map[string]json.RawMessage }
//     type Metric struct{ Name, Interval string; Count, FailureLimit *IntOrString
//         SuccessCondition string; Provider MetricProvider; Threshold float64 }
//     type RunArgs struct{ AnalysisRun *AnalysisRun; Metric Metric }
//     type Measurement struct{ Phase, Message string; StartedAt, FinishedAt *Time; Value string
//         Metadata map[string]string; ResumeAt *Time }
//     type RpcError struct{ ErrorString string }
//     type Point struct{ X, Y int32 }
//     type Envelope struct{ Kind string; Payload any; Items []any }
//     gob.RegisterName("RunArgs", new(RunArgs)); gob.RegisterName("Point", Point{})
//     gob.RegisterName("Envelope", Envelope{}); gob.Register(map[string]int{})
//
//     client: Encode(&Request{"Plugin.Run", 1}); var a any = RunArgs{...runArgs1}; Encode(&a)
//             Encode(&Request{"Plugin.Run", 2}); a = RunArgs{...runArgs2}; Encode(&a)
//             Encode(&Request{"Plugin.InitPlugin", 3}); Encode(new(any))
//     server: Encode(&Response{"Plugin.Run", 1, ""}); Encode(&Measurement{...}); Encode(&Response{...})
//             Encode(&RpcError{"boom"}); ...; Encode(ptr("prometheus-plugin")); ...
//             Encode(&map[string]string{"k": "v"}); Encode(&Response{..., Error: "rpc: can't find ..."})
//             Encode(struct{}{})                               // net/rpc's invalidRequest
//     multi:  Encode(&Measurement{Phase: "Failed", ..., Metadata: 3 entries})
//     misc:   Encode(&map[string]string{"k": "v"}); Encode(&[]string{"a", ""}); var i any = "hi"; Encode(&i)
//             var e any = Envelope{"outer", Point{1, -2}, []any{"x", int64(-7), nil, Point{3, 0}}}; Encode(&e)
//             e = Envelope{Payload: map[string]int{"n": 1}, Items: []any{true}}; Encode(&e)
//             Encode(&[2]int32{5, 0}); Encode(ptr(1.5))
//
// The values are those written out in `GoValues` below.
enum GoBytes {
    static let request1 = hex(
        """
        2fff81030101075265717565737401ff82000102010d536572766963654d6574686f64010c0001035365710106000000
        11ff82010a506c7567696e2e52756e010100
        """)
    static let body1 = hex(
        """
        3c10000752756e41726773ff830301010752756e4172677301ff84000102010b416e616c7973697352756e01ff860001
        064d657472696301ff9600000041ff850301010b416e616c7973697352756e01ff860001030108547970654d65746101
        ff8800010a4f626a6563744d65746101ff8a0001045370656301ff900000002eff8703010108547970654d65746101ff
        8800010201044b696e64010c00010a41504956657273696f6e010c000000ff9fff890301010a4f626a6563744d657461
        01ff8a00010801044e616d65010c0001094e616d657370616365010c000103554944010c00010a47656e65726174696f
        6e01040001114372656174696f6e54696d657374616d7001ff8c00011144656c6574696f6e54696d657374616d7001ff
        8c00011a44656c6574696f6e4772616365506572696f645365636f6e647301040001064c6162656c7301ff8e00000010
        ff8b0501010454696d6501ff8c00000010ff9d0501010454696d6501ff9e00000021ff8d040101116d61705b73747269
        6e675d737472696e6701ff8e00010c010c000035ff8f0301010f416e616c7973697352756e5370656301ff9000010201
        044172677301ff940001095465726d696e61746501020000001eff930201010f5b5d6d61696e2e417267756d656e7401
        ff940001ff92000029ff9103010108417267756d656e7401ff9200010201044e616d65010c00010556616c7565010c00
        000078ff95030101064d657472696301ff9600010701044e616d65010c000108496e74657276616c010c000105436f75
        6e7401ff9800010c4661696c7572654c696d697401ff9800011053756363657373436f6e646974696f6e010c00010850
        726f766964657201ff9a0001095468726573686f6c64010800000038ff970301010b496e744f72537472696e6701ff98
        0001030104547970650104000106496e7456616c010400010653747256616c010c00000028ff990301010e4d65747269
        6350726f766964657201ff9a0001010106506c7567696e01ff9c0000002aff9b0401011a6d61705b737472696e675d6a
        736f6e2e5261774d65737361676501ff9c00010c010a0000ffcdff84ffc90101010b416e616c7973697352756e011461
        72676f70726f6a2e696f2f7631616c706861310001010572756e2d31010764656661756c7401057569642d310105010f
        010000000edd25742500000000ffff023b01010361707003776562000101020104686f737401077765622e7376630001
        05656d70747900000001010c737563636573732d72617465010333307301020a00010102020332302500010c72657375
        6c74203e20302e390101010c61636d652f6d657472696373077b2271223a317d0001fe04c00000
        """)
    static let request2 = hex("11ff82010a506c7567696e2e52756e010200")
    static let body2 = hex("2310000752756e41726773ff84160201076c6174656e637902020100030001fed03f0000")
    static let request3 = hex("18ff820111506c7567696e2e496e6974506c7567696e010300")
    static let body3 = hex("03100000")
    static let sResponse1 = hex(
        """
        3aff8103010108526573706f6e736501ff82000103010d536572766963654d6574686f64010c00010353657101060001
        054572726f72010c00000011ff82010a506c7567696e2e52756e010100
        """)
    static let sMeasurement = hex(
        """
        74ff830301010b4d6561737572656d656e7401ff8400010701055068617365010c0001074d657373616765010c000109
        53746172746564417401ff8600010a46696e6973686564417401ff8600010556616c7565010c0001084d657461646174
        6101ff88000108526573756d65417401ff860000000aff85050102ff8a00000010ff8b0501010454696d6501ff8c0000
        0021ff87040101116d61705b737472696e675d737472696e6701ff8800010c010c000042ff84010a5375636365737366
        756c020f010000000edd257425075bcd15ffff010f010000000edd25745c00000000ffff0104302e3937010105717565
        727902757000
        """)
    static let sResponse2 = hex("18ff820111506c7567696e2e496e6974506c7567696e010200")
    static let sRpcError = hex(
        """
        26ff8d030101085270634572726f7201ff8e000101010b4572726f72537472696e67010c00000009ff8e0104626f6f6d
        00
        """)
    static let sResponse3 = hex("12ff82010b506c7567696e2e54797065010300")
    static let sString = hex("140c001170726f6d6574686575732d706c7567696e")
    static let sResponse4 = hex("19ff820112506c7567696e2e4765744d65746164617461010400")
    static let sMap = hex("08ff880001016b0176")
    static let sResponse5 = hex(
        """
        36ff82010b506c7567696e2e4e6f7065010501227270633a2063616e27742066696e64206d6574686f6420506c756769
        6e2e4e6f706500
        """)
    static let sInvalid = hex("0aff8f030102ff9000000003ff9000")
    static let multiMeasurement = hex(
        """
        74ff810301010b4d6561737572656d656e7401ff8200010701055068617365010c0001074d657373616765010c000109
        53746172746564417401ff8400010a46696e6973686564417401ff8400010556616c7565010c0001084d657461646174
        6101ff86000108526573756d65417401ff840000000aff83050102ff8800000010ff890501010454696d6501ff8a0000
        0021ff85040101116d61705b737472696e675d737472696e6701ff8600010c010c000034ff8201064661696c65640108
        746f6f20736c6f770403016101310162013201630133010f010000000ee93d3da600000000ffff00
        """)
    static let topMap = hex("0eff81040102ff8200010c010c000008ff820001016b0176")
    static let topSlice = hex("0cff83020102ff8400010c000007ff840002016100")
    static let ifaceString = hex("0f100006737472696e670c0400026869")
    static let nested = hex(
        """
        41100008456e76656c6f7065ff8503010108456e76656c6f706501ff8600010301044b696e64010c0001075061796c6f
        616401100001054974656d7301ff880000001cff870201010e5b5d696e74657266616365207b7d01ff8800011000005f
        ff862d01056f757465720105506f696e74ff8903010105506f696e7401ff8a0001020101580104000101590104000000
        2eff8a050102010300010406737472696e670c0300017805696e7436340402000d0005506f696e74ff8a0301060000
        """)
    static let nestedAgain = hex(
        """
        41100008456e76656c6f7065ff861e020e6d61705b737472696e675d696e74ff8b040102ff8c00010c0104000014ff8c
        050001016e02010104626f6f6c0202000100
        """)
    static let array = hex("0eff8d010102ff8e0001040104000006ff8e00020a00")
    static let float = hex("050800fef83f")

    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter(\.isHexDigit).utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) ?? 0
        }
    }
}

/// The Go program's types, described for the encoder.
enum RefTypes {
    static let request = GobType.structure(
        name: "Request", fields: [GobField("ServiceMethod", .string), GobField("Seq", .uint)])
    static let response = GobType.structure(
        name: "Response",
        fields: [GobField("ServiceMethod", .string), GobField("Seq", .uint), GobField("Error", .string)])
    /// `main.Time`, which embeds `time.Time` as `metav1.Time` does.
    static let time = GobType.gobEncoder(name: "main.Time", fields: [GobField("Time", .goTime)])
    static let typeMeta = GobType.structure(
        name: "TypeMeta", fields: [GobField("Kind", .string), GobField("APIVersion", .string)])
    static let objectMeta = GobType.structure(
        name: "ObjectMeta",
        fields: [
            GobField("Name", .string), GobField("Namespace", .string), GobField("UID", .string),
            GobField("Generation", .int), GobField("CreationTimestamp", time),
            GobField("DeletionTimestamp", .pointer(time)), GobField("DeletionGracePeriodSeconds", .pointer(.int)),
            GobField("Labels", .map(key: .string, value: .string)),
        ])
    static let argument = GobType.structure(
        name: "main.Argument", fields: [GobField("Name", .string), GobField("Value", .pointer(.string))])
    static let analysisRunSpec = GobType.structure(
        name: "AnalysisRunSpec", fields: [GobField("Args", .slice(argument)), GobField("Terminate", .bool)])
    static let analysisRun = GobType.structure(
        name: "AnalysisRun",
        fields: [GobField("TypeMeta", typeMeta), GobField("ObjectMeta", objectMeta), GobField("Spec", analysisRunSpec)])
    static let intOrString = GobType.structure(
        name: "IntOrString", fields: [GobField("Type", .int), GobField("IntVal", .int), GobField("StrVal", .string)])
    static let metricProvider = GobType.structure(
        name: "MetricProvider",
        fields: [GobField("Plugin", .map(key: .string, value: .named("json.RawMessage", .bytes)))])
    static let metric = GobType.structure(
        name: "Metric",
        fields: [
            GobField("Name", .string), GobField("Interval", .string), GobField("Count", .pointer(intOrString)),
            GobField("FailureLimit", .pointer(intOrString)), GobField("SuccessCondition", .string),
            GobField("Provider", metricProvider), GobField("Threshold", .float),
        ])
    static let runArgs = GobType.structure(
        name: "RunArgs", fields: [GobField("AnalysisRun", .pointer(analysisRun)), GobField("Metric", metric)])
    static let measurement = GobType.structure(
        name: "Measurement",
        fields: [
            GobField("Phase", .string), GobField("Message", .string), GobField("StartedAt", .pointer(time)),
            GobField("FinishedAt", .pointer(time)), GobField("Value", .string),
            GobField("Metadata", .map(key: .string, value: .string)), GobField("ResumeAt", .pointer(time)),
        ])
    static let rpcError = GobType.structure(name: "RpcError", fields: [GobField("ErrorString", .string)])
    static let emptyStruct = GobType.structure(name: "", fields: [])
    static let point = GobType.structure(name: "Point", fields: [GobField("X", .int), GobField("Y", .int)])
    static let envelope = GobType.structure(
        name: "Envelope",
        fields: [GobField("Kind", .string), GobField("Payload", .interface), GobField("Items", .slice(.interface))])
}

/// The values the Go program encodes.
enum GoValues {
    static let january2 = Date(timeIntervalSince1970: 1_704_164_645)  // 2024-01-02T03:04:05Z

    static func request(_ method: String, _ seq: UInt64) -> GobValue {
        .structure(["ServiceMethod": .string(method), "Seq": .uint(seq)])
    }

    static func response(_ method: String, _ seq: UInt64, error: String? = nil) -> GobValue {
        var fields: [String: GobValue] = ["ServiceMethod": .string(method), "Seq": .uint(seq)]
        if let error { fields["Error"] = .string(error) }
        return .structure(fields)
    }

    static let runArgs1 = GobValue.structure([
        "AnalysisRun": .structure([
            "TypeMeta": .structure(["Kind": .string("AnalysisRun"), "APIVersion": .string("argoproj.io/v1alpha1")]),
            "ObjectMeta": .structure([
                "Name": .string("run-1"), "Namespace": .string("default"), "UID": .string("uid-1"),
                "Generation": .int(-3), "CreationTimestamp": .time(january2),
                "DeletionGracePeriodSeconds": .int(-30), "Labels": .stringMap(["app": "web"]),
            ]),
            "Spec": .structure([
                "Args": .list([
                    .structure(["Name": .string("host"), "Value": .string("web.svc")]),
                    .structure(["Name": .string("empty")]),
                ])
            ]),
        ]),
        "Metric": .structure([
            "Name": .string("success-rate"), "Interval": .string("30s"),
            "Count": .structure(["IntVal": .int(5)]),
            "FailureLimit": .structure(["Type": .int(1), "StrVal": .string("20%")]),
            "SuccessCondition": .string("result > 0.9"),
            "Provider": .structure(["Plugin": .map([(.string("acme/metrics"), .bytes(Array(#"{"q":1}"#.utf8)))])]),
            "Threshold": .float(-2.5),
        ]),
    ])

    static let runArgs2 = GobValue.structure([
        "Metric": .structure([
            "Name": .string("latency"), "Count": .structure(["IntVal": .int(-1)]), "Provider": .structure([:]),
            "Threshold": .float(0.25),
        ])
    ])

    /// StartedAt is 2024-01-02T03:04:05.123456789Z, which a `Date` cannot hold to the nanosecond.
    static let startedAt = GoBytes.hex("010000000edd257425075bcd15ffff")
    static let measurement = GobValue.structure([
        "Phase": .string("Successful"), "StartedAt": .encoded(startedAt),
        "FinishedAt": .time(Date(timeIntervalSince1970: 1_704_164_700)), "Value": .string("0.97"),
        "Metadata": .stringMap(["query": "up"]),
    ])

    static let nested = GobValue.interface(
        name: "Envelope", type: RefTypes.envelope,
        value: .structure([
            "Kind": .string("outer"),
            "Payload": .interface(
                name: "Point", type: RefTypes.point, value: .structure(["X": .int(1), "Y": .int(-2)])),
            "Items": .list([
                .interface(name: "string", type: .string, value: .string("x")),
                .interface(name: "int64", type: .int, value: .int(-7)),
                .nilInterface,
                .interface(name: "Point", type: RefTypes.point, value: .structure(["X": .int(3)])),
            ]),
        ]))

    static let nestedAgain = GobValue.interface(
        name: "Envelope", type: RefTypes.envelope,
        value: .structure([
            "Payload": .interface(
                name: "map[string]int", type: .map(key: .string, value: .int),
                value: .map([(.string("n"), .int(1))])),
            "Items": .list([.interface(name: "bool", type: .bool, value: .bool(true))]),
        ]))
}

/// Splits a gob stream into message bodies.
func messages(_ stream: [UInt8]) throws -> [[UInt8]] {
    var bodies: [[UInt8]] = []
    var rest = stream[...]
    while !rest.isEmpty {
        guard let (body, consumed) = try GobFraming.nextMessage(in: rest) else {
            throw GobError("\(rest.count) bytes of an incomplete message")
        }
        bodies.append(body)
        rest = rest.dropFirst(consumed)
    }
    return bodies
}

/// Decodes a whole stream, returning the values in order.
func decodeAll(_ stream: [UInt8], with decoder: inout GobDecoder) throws -> [GobValue] {
    try messages(stream).compactMap { try decoder.decode(message: $0) }
}

func decodeAll(_ stream: [UInt8]) throws -> [GobValue] {
    var decoder = GobDecoder()
    return try decodeAll(stream, with: &decoder)
}

/// The concrete value of an interface value, with its registered name.
func concrete(_ value: GobValue) -> (name: String, value: GobValue)? {
    if case .interface(let name, _, let inner) = value { (name, inner) } else { nil }
}

@Suite struct GobEncodingTests {
    @Test func netRPCClientStreamIsGoBytes() throws {
        var encoder = GobEncoder()
        let calls: [(GobValue, GobType, [UInt8])] = [
            (GoValues.request("Plugin.Run", 1), RefTypes.request, GoBytes.request1),
            (.interface(name: "RunArgs", type: RefTypes.runArgs, value: GoValues.runArgs1), .interface, GoBytes.body1),
            (GoValues.request("Plugin.Run", 2), RefTypes.request, GoBytes.request2),
            (.interface(name: "RunArgs", type: RefTypes.runArgs, value: GoValues.runArgs2), .interface, GoBytes.body2),
            (GoValues.request("Plugin.InitPlugin", 3), RefTypes.request, GoBytes.request3),
            (.nilInterface, .interface, GoBytes.body3),
        ]
        for (index, (value, type, expected)) in calls.enumerated() {
            let bytes = try encoder.encode(value, as: type)
            #expect(bytes == expected, "call \(index): \(hexString(bytes))")
        }
    }

    @Test func netRPCServerStreamIsGoBytes() throws {
        var encoder = GobEncoder()
        let replies: [(GobValue, GobType, [UInt8])] = [
            (GoValues.response("Plugin.Run", 1), RefTypes.response, GoBytes.sResponse1),
            (GoValues.measurement, RefTypes.measurement, GoBytes.sMeasurement),
            (GoValues.response("Plugin.InitPlugin", 2), RefTypes.response, GoBytes.sResponse2),
            (.structure(["ErrorString": .string("boom")]), RefTypes.rpcError, GoBytes.sRpcError),
            (GoValues.response("Plugin.Type", 3), RefTypes.response, GoBytes.sResponse3),
            (.string("prometheus-plugin"), .string, GoBytes.sString),
            (GoValues.response("Plugin.GetMetadata", 4), RefTypes.response, GoBytes.sResponse4),
            (.stringMap(["k": "v"]), .map(key: .string, value: .string), GoBytes.sMap),
            (
                GoValues.response("Plugin.Nope", 5, error: "rpc: can't find method Plugin.Nope"), RefTypes.response,
                GoBytes.sResponse5
            ),
            (.structure([:]), RefTypes.emptyStruct, GoBytes.sInvalid),
        ]
        for (index, (value, type, expected)) in replies.enumerated() {
            let bytes = try encoder.encode(value, as: type)
            #expect(bytes == expected, "reply \(index): \(hexString(bytes))")
        }
    }

    @Test func otherShapesAreGoBytes() throws {
        var encoder = GobEncoder()
        let values: [(GobValue, GobType, [UInt8])] = [
            (.stringMap(["k": "v"]), .map(key: .string, value: .string), GoBytes.topMap),
            (.list([.string("a"), .string("")]), .slice(.string), GoBytes.topSlice),
            (.interface(name: "string", type: .string, value: .string("hi")), .interface, GoBytes.ifaceString),
            (GoValues.nested, .interface, GoBytes.nested),
            (GoValues.nestedAgain, .interface, GoBytes.nestedAgain),
            (.list([.int(5), .int(0)]), .array(.int, count: 2), GoBytes.array),
            (.float(1.5), .float, GoBytes.float),
        ]
        for (index, (value, type, expected)) in values.enumerated() {
            let bytes = try encoder.encode(value, as: type)
            #expect(bytes == expected, "value \(index): \(hexString(bytes))")
        }
    }

    @Test func typeDefinitionsAreSentOncePerEncoder() throws {
        var encoder = GobEncoder()
        let first = try encoder.encode(GoValues.request("Plugin.Run", 2), as: RefTypes.request)
        let second = try encoder.encode(GoValues.request("Plugin.Run", 2), as: RefTypes.request)
        #expect(first == Array(GoBytes.request1.dropLast(GoBytes.request2.count)) + GoBytes.request2)
        #expect(second == GoBytes.request2)
        // A new encoder, for a new stream, sends them again.
        var fresh = GobEncoder()
        #expect(try fresh.encode(GoValues.request("Plugin.Run", 2), as: RefTypes.request) == first)
    }

    @Test func absentFieldsFollowGoZeroValues() throws {
        let type = GobType.structure(
            name: "T",
            fields: [
                GobField("S", RefTypes.point), GobField("P", .pointer(RefTypes.point)), GobField("N", .int),
                GobField("M", .map(key: .string, value: .int)), GobField("L", .slice(.int)),
            ])
        var encoder = GobEncoder()
        let bytes = try encoder.encode(.structure(["M": .map([]), "L": .list([]), "N": .int(0)]), as: type)
        // A non-pointer struct is sent even when zero (as Go does), a nil pointer and zeros are not,
        // an empty but non-nil map is, an empty slice is not: id 65, S {}, M (delta 3) of 0 entries, end.
        #expect(try messages(bytes).last == [0xFF, 0x82, 0x01, 0x00, 0x03, 0x00, 0x00])
        #expect(try decodeAll(bytes) == [.structure(["S": .structure([:]), "M": .map([])])])
    }

    @Test func goTimeMatchesGo() throws {
        // t.GobEncode() for these times, with t.Unix() and t.Nanosecond().
        let utc = GoBytes.hex("010000000edd25742500001770ffff")  // 2024-01-02T03:04:05.000006Z
        let epoch = GoBytes.hex("010000000e7791f70000000000ffff")  // 1970-01-01T00:00:00Z
        let old = GoBytes.hex("010000000df5c8abff3b9ac9ffffff")  // 1900-12-31T23:59:59.999999999Z
        let zoned = GoBytes.hex("020000000edd2526be00000000014a0f")  // 2024-01-02T03:04:05+05:30:15
        #expect(GoTime.encode(Date(timeIntervalSince1970: 1_704_164_645.000006)) == utc)
        #expect(GoTime.encode(Date(timeIntervalSince1970: 0)) == epoch)
        #expect(GoTime.encode(GoValues.january2) == GoBytes.hex("010000000edd25742500000000ffff"))
        #expect(abs(try GoTime.decode(utc).timeIntervalSince1970 - 1_704_164_645.000006) < 1e-6)
        #expect(try GoTime.decode(epoch) == Date(timeIntervalSince1970: 0))
        #expect(abs(try GoTime.decode(old).timeIntervalSince1970 - -2_177_452_800.000000001) < 1e-6)
        #expect(try GoTime.decode(zoned) == Date(timeIntervalSince1970: 1_704_144_830))
        #expect(try GoTime.decode(GoTime.encode(GoValues.january2)) == GoValues.january2)
    }
}

@Suite struct GobDecodingTests {
    @Test func netRPCClientStreamDecodes() throws {
        let stream =
            GoBytes.request1 + GoBytes.body1 + GoBytes.request2 + GoBytes.body2 + GoBytes.request3 + GoBytes.body3
        let values = try decodeAll(stream)
        try #require(values.count == 6)
        #expect(values[0] == GoValues.request("Plugin.Run", 1))
        #expect(values[2] == GoValues.request("Plugin.Run", 2))
        #expect(values[4] == GoValues.request("Plugin.InitPlugin", 3))
        #expect(concrete(values[1])?.name == "RunArgs")
        #expect(concrete(values[1])?.value == GoValues.runArgs1)
        #expect(concrete(values[3])?.value == GoValues.runArgs2)
        #expect(values[5] == .nilInterface)
    }

    @Test func interfaceValuesCarryTheirTypeAsDefined() throws {
        let values = try decodeAll(GoBytes.request1 + GoBytes.body1)
        guard case .interface(_, let type, _) = try #require(values.last) else {
            Issue.record("not an interface value: \(values)")
            return
        }
        guard case .structure(let name, let fields) = type else {
            Issue.record("not a struct type: \(type)")
            return
        }
        #expect(name == "RunArgs")
        #expect(fields.map(\.name) == ["AnalysisRun", "Metric"])
        guard case .structure(_, let metricFields) = fields[1].type else {
            Issue.record("Metric is \(fields[1].type)")
            return
        }
        #expect(metricFields.last == GobField("Threshold", .float))
        #expect(
            metricFields[5].type
                == .structure(
                    name: "MetricProvider", fields: [GobField("Plugin", .map(key: .string, value: .bytes))]))
    }

    @Test func aValueSpanningMessagesIsReturnedWithItsLastMessage() throws {
        var decoder = GobDecoder()
        let bodies = try messages(GoBytes.body1)
        // The first message starts the value (and defines RunArgs); 13 more definitions follow on their own.
        #expect(bodies.count == 15)
        for body in bodies.dropLast() {
            #expect(try decoder.decode(message: body) == nil)
        }
        let value = try decoder.decode(message: try #require(bodies.last))
        #expect(concrete(try #require(value))?.value == GoValues.runArgs1)
        // The types stay known: the second call's body is one message.
        #expect(concrete(try #require(try decodeAll(GoBytes.body2, with: &decoder).first))?.value == GoValues.runArgs2)
    }

    @Test func netRPCServerStreamDecodes() throws {
        let stream = [
            GoBytes.sResponse1, GoBytes.sMeasurement, GoBytes.sResponse2, GoBytes.sRpcError, GoBytes.sResponse3,
            GoBytes.sString, GoBytes.sResponse4, GoBytes.sMap, GoBytes.sResponse5, GoBytes.sInvalid,
        ].flatMap { $0 }
        let values = try decodeAll(stream)
        try #require(values.count == 10)
        #expect(values[0] == GoValues.response("Plugin.Run", 1))
        let measurement = values[1]
        #expect(measurement == GoValues.measurement)
        #expect(measurement["Phase"]?.stringValue == "Successful")
        #expect(measurement["Metadata"]?.stringMapValue == ["query": "up"])
        #expect(measurement["ResumeAt"] == nil)
        let startedAt = try #require(measurement["StartedAt"]?.dateValue)
        #expect(abs(startedAt.timeIntervalSince1970 - 1_704_164_645.123456789) < 1e-6)
        #expect(measurement["FinishedAt"]?.dateValue == Date(timeIntervalSince1970: 1_704_164_700))
        #expect(values[3] == .structure(["ErrorString": .string("boom")]))
        #expect(values[5] == .string("prometheus-plugin"))
        #expect(values[7] == .stringMap(["k": "v"]))
        #expect(values[8]["Error"]?.stringValue == "rpc: can't find method Plugin.Nope")
        #expect(values[9] == .structure([:]))
    }

    @Test func mapsDecodeWhateverTheirOrder() throws {
        let values = try decodeAll(GoBytes.multiMeasurement)
        let measurement = try #require(values.first)
        #expect(measurement["Metadata"]?.stringMapValue == ["a": "1", "b": "2", "c": "3"])
        #expect(
            measurement["Metadata"]
                == .map([(.string("c"), .string("3")), (.string("a"), .string("1")), (.string("b"), .string("2"))]))
        #expect(measurement["ResumeAt"]?.dateValue == Date(timeIntervalSince1970: 1_907_050_150))
        #expect(measurement["Message"] == .string("too slow"))
    }

    @Test func otherShapesDecode() throws {
        let stream = [
            GoBytes.topMap, GoBytes.topSlice, GoBytes.ifaceString, GoBytes.nested, GoBytes.nestedAgain, GoBytes.array,
            GoBytes.float,
        ].flatMap { $0 }
        let values = try decodeAll(stream)
        try #require(values.count == 7)
        #expect(values[0] == .stringMap(["k": "v"]))
        #expect(values[1] == .list([.string("a"), .string("")]))
        #expect(values[2] == .interface(name: "string", type: .string, value: .string("hi")))
        #expect(values[3] == GoValues.nested)
        #expect(values[4] == GoValues.nestedAgain)
        #expect(values[5] == .list([.int(5), .int(0)]))
        #expect(values[6] == .float(1.5))
    }
}

@Suite struct GobRoundTripTests {
    @Test func swiftBytesDecodeToTheSameValues() throws {
        var encoder = GobEncoder()
        var decoder = GobDecoder()
        let values: [(GobValue, GobType)] = [
            (GoValues.request("Plugin.Run", 7), RefTypes.request),
            (.interface(name: "RunArgs", type: RefTypes.runArgs, value: GoValues.runArgs1), .interface),
            (GoValues.measurement, RefTypes.measurement),
            (.structure(["Name": .string("x"), "Value": .string("y")]), RefTypes.argument),
            (.list([.float(-0.5), .float(1e300), .float(.leastNonzeroMagnitude)]), .slice(.float)),
            (.list([.int(.min), .int(.max), .int(0)]), .slice(.int)),
            (.list([.uint(.max), .uint(128), .uint(127)]), .array(.uint, count: 3)),
            (.map([(.int(-1), .list([.bool(true), .bool(false)]))]), .map(key: .int, value: .slice(.bool))),
            (.bytes([0, 1, 255]), .bytes),
            (.encoded(GoTime.encode(GoValues.january2)), .pointer(RefTypes.time)),
            (GoValues.nested, .interface),
            (.string("ünïcödé"), .string),
        ]
        for (value, type) in values {
            let decoded = try decodeAll(try encoder.encode(value, as: type), with: &decoder)
            let expected = if case .interface = value { concrete(value)?.value } else { value }
            let got = if case .interface = value { decoded.first.flatMap(concrete)?.value } else { decoded.first }
            #expect(decoded.count == 1)
            #expect(got == expected, "\(type.goString)")
        }
    }
}

@Suite struct GobErrorTests {
    @Test func truncatedMessageSaysWhatWasCut() throws {
        var decoder = GobDecoder()
        let bodies = try messages(GoBytes.sResponse1 + GoBytes.sMeasurement)
        for body in bodies.dropLast() { _ = try decoder.decode(message: body) }
        let value = try #require(bodies.last)
        let error = #expect(throws: GobError.self) { try decoder.decode(message: Array(value.prefix(40))) }
        #expect(error?.description.hasPrefix("gob: decoding Measurement.") == true, "\(String(describing: error))")
        #expect(error?.message.contains("the message ends") == true, "\(String(describing: error))")
    }

    @Test func unknownTypeIdIsNamed() throws {
        var decoder = GobDecoder()
        // The Request value without its type definition.
        let error = #expect(throws: GobError.self) { try decoder.decode(message: try messages(GoBytes.request2)[0]) }
        #expect(error?.message.contains("unknown type id 65") == true, "\(String(describing: error))")
    }

    @Test func duplicateAndReservedTypeDefinitionsAreRefused() throws {
        var decoder = GobDecoder()
        let definition = try messages(GoBytes.request1)[0]
        #expect(try decoder.decode(message: definition) == nil)
        #expect(throws: GobError("type id 65 is defined twice")) { try decoder.decode(message: definition) }
        let reserved = [0x09] + definition.dropFirst(2)  // -5, a basic type's id, for -65
        #expect(throws: GobError("type definition for reserved id 5")) { try GobDecoder().decodeCopy(reserved) }
    }

    @Test func singletonWithNonZeroDeltaIsRefused() throws {
        let error = #expect(throws: GobError.self) { try GobDecoder().decodeCopy([0x0C, 0x01, 0x01, 0x61]) }
        #expect(error?.message.contains("non-zero delta 1") == true, "\(String(describing: error))")
    }

    @Test func framingWaitsForWholeMessagesAndRefusesBadLengths() throws {
        let stream = GoBytes.request1
        #expect(try GobFraming.nextMessage(in: stream.prefix(0)[...]) == nil)
        #expect(try GobFraming.nextMessage(in: stream.prefix(10)[...]) == nil)
        let first = try #require(try GobFraming.nextMessage(in: stream[...]))
        #expect(first.consumed == 0x2F + 1)
        // A slice that does not start at index 0.
        let second = try #require(try GobFraming.nextMessage(in: stream[first.consumed...]))
        #expect(second.body == Array(GoBytes.request1.dropFirst(first.consumed + 1)))
        #expect(try GobFraming.nextMessage(in: [0xFE, 0x01][...]) == nil)
        #expect(try GobFraming.nextMessage(in: [0xFE, 0x01, 0x00][...])?.body.count == nil)
        #expect(throws: GobError.self) { try GobFraming.nextMessage(in: [0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0][...]) }
        #expect(throws: GobError.self) { try GobFraming.nextMessage(in: [0xFC, 0x7F, 0xFF, 0xFF, 0xFF][...]) }
        #expect(GobFraming.frame([1, 2, 3]) == [3, 1, 2, 3])
    }

    @Test func encodingMismatchesNameTheField() throws {
        var encoder = GobEncoder()
        let wrongType = #expect(throws: GobError.self) {
            try encoder.encode(
                .interface(
                    name: "RunArgs", type: RefTypes.runArgs,
                    value: .structure(["Metric": .structure(["Count": .string("5")])])),
                as: .interface)
        }
        #expect(
            wrongType?.message
                == "encoding interface {}.(RunArgs).Metric.Count: IntOrString takes a .structure value, got .string")
        let unknownField = #expect(throws: GobError.self) {
            try encoder.encode(.structure(["Sequence": .uint(1)]), as: RefTypes.request)
        }
        #expect(unknownField?.message == "encoding Request: Request has no field Sequence")
        // Nothing was sent by the failed calls: the next one still defines Request.
        #expect(try encoder.encode(GoValues.request("Plugin.Run", 1), as: RefTypes.request) == GoBytes.request1)
    }

    @Test func badTimesAreRefused() {
        #expect(throws: GobError("time: no data")) { try GoTime.decode([]) }
        #expect(throws: GobError("time: unsupported version 3")) {
            try GoTime.decode([3] + Array(repeating: 0, count: 14))
        }
        #expect(throws: GobError("time: version 1 takes 15 bytes, got 3")) { try GoTime.decode([1, 0, 0]) }
    }
}

extension GobDecoder {
    /// Decodes one message with a copy of this decoder.
    fileprivate func decodeCopy(_ message: [UInt8]) throws -> GobValue? {
        var copy = self
        return try copy.decode(message: message)
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
