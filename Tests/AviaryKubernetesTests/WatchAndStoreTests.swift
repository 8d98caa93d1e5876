import AviaryJSON
import AviaryMeta
import Foundation
import Testing

@testable import AviaryKubernetes

func configMap(
    _ name: String, namespace: String = "default", version: String, data: String = "", owner: String? = nil
)
    -> KubernetesObject
{
    var metadata: JSONValue = [
        "name": .string(name), "namespace": .string(namespace), "resourceVersion": .string(version),
    ]
    if let owner {
        metadata["ownerReferences"] = [
            ["apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "r", "uid": .string(owner)]
        ]
    }
    return try! KubernetesObject(
        json: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": ["value": .string(data)]])
}

@Suite struct WatchLineParserTests {
    static let added = #"{"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"5"}}}"#
    static let bookmark = #"{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"9"}}}"#
    static let gone =
        #"{"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","code":410,"message":"too old resource version: 5 (12)"}}"#

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var chunks: [String]
        /// The types and resourceVersions returned after each chunk.
        var expected: [[String]]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "one line in one read", chunks: [added + "\n"], expected: [["ADDED 5"]]),
        Case(
            name: "two lines in one read", chunks: [added + "\n" + bookmark + "\n"],
            expected: [["ADDED 5", "BOOKMARK 9"]]),
        Case(
            name: "a line split over three reads",
            chunks: [
                String(added.prefix(10)), String(added.dropFirst(10).prefix(30)), String(added.dropFirst(40)) + "\n",
            ],
            expected: [[], [], ["ADDED 5"]]),
        Case(
            name: "a read ending inside the second line",
            chunks: [added + "\n" + bookmark.prefix(20), String(bookmark.dropFirst(20)) + "\n"],
            expected: [["ADDED 5"], ["BOOKMARK 9"]]),
        Case(
            name: "CRLF and blank lines", chunks: [added + "\r\n\n", "\n" + gone + "\n"],
            expected: [["ADDED 5"], ["ERROR -"]]),
        Case(name: "a cut-off last line stays buffered", chunks: [added + "\n" + bookmark], expected: [["ADDED 5"]]),
    ]

    @Test(arguments: cases)
    func linesBecomeEventsAsTheyComplete(_ input: Case) throws {
        var parser = WatchLineParser()
        for (chunk, expected) in zip(input.chunks, input.expected) {
            let events = try parser.append(Array(chunk.utf8))
            #expect(events.map { "\($0.type.rawValue) \($0.resourceVersion ?? "-")" } == expected)
        }
    }

    @Test func anErrorEventCarriesItsStatus() throws {
        var parser = WatchLineParser()
        let event = try #require(try parser.append(Array((Self.gone + "\n").utf8)).first)
        #expect(event.status?.code == 410)
        #expect(event.status?.reason == "Expired")
    }

    @Test func aLineThatIsNotAnEventIsReported() {
        var parser = WatchLineParser()
        #expect(throws: WatchLineParser.Malformed.self) { try parser.append(Array("<html>oops</html>\n".utf8)) }
    }
}

@Suite struct InformerStoreTests {
    @Test func watchEventsBecomeAddsUpdatesAndDeletes() {
        var store = InformerStore()
        #expect(store.apply(.added, configMap("a", version: "1")) == .added(configMap("a", version: "1")))
        #expect(
            store.apply(.modified, configMap("a", version: "2", data: "x"))
                == .updated(old: configMap("a", version: "1"), new: configMap("a", version: "2", data: "x")))
        #expect(store.apply(.deleted, configMap("a", version: "3")) == .deleted(configMap("a", version: "3")))
        #expect(store.apply(.deleted, configMap("never", version: "4")) == nil)
        #expect(store.count == 0)
    }

    /// Objects are kept as text and parsed when read: every read gives the latest state, whole.
    @Test func readsGiveTheLatestStateOfEachObject() {
        var store = InformerStore()
        _ = store.apply(.added, configMap("a", version: "1", data: "first"))
        _ = store.apply(.added, configMap("b", version: "2", data: "other", owner: "uid-1"))
        _ = store.apply(.modified, configMap("a", version: "3", data: "second \"quoted\" ✓"))
        let latest = configMap("a", version: "3", data: "second \"quoted\" ✓")
        #expect(store.object(forKey: "default/a") == latest)
        #expect(store.objects(index: StandardIndex.namespace, value: "default") == [latest, configMap("b", version: "2", data: "other", owner: "uid-1")])
        #expect(store.all.map { $0.json["data"]?["value"]?.stringValue } == ["second \"quoted\" ✓", "other"])
        _ = store.replace(with: [configMap("a", version: "4", data: "third")])
        #expect(store.object(forKey: "default/a") == configMap("a", version: "4", data: "third"))
        #expect(store.object(forKey: "default/b") == nil)
    }

    /// What a resync and a count ask of every object, answered from the versions kept beside the texts.
    @Test func keysAndVersionsFollowEveryChange() {
        var store = InformerStore()
        _ = store.apply(.added, configMap("b", namespace: "two", version: "5"))
        _ = store.apply(.added, configMap("a", namespace: "one", version: "1"))
        _ = store.apply(.modified, configMap("a", namespace: "one", version: "7", data: "x"))
        #expect(store.versions.map(\.key) == ["one/a", "two/b"])
        #expect(store.versions.map(\.resourceVersion) == ["7", "5"])
        #expect(store.versions(index: StandardIndex.namespace, value: "two").map(\.resourceVersion) == ["5"])
        _ = store.apply(.deleted, configMap("b", namespace: "two", version: "8"))
        #expect(store.versions(index: StandardIndex.namespace, value: "two").isEmpty)
        _ = store.replace(with: [configMap("a", namespace: "one", version: "9")])
        #expect(store.versions.map(\.resourceVersion) == ["9"])
    }

    /// A relist: deletes for objects gone, updates for changed ones, adds for new ones, nothing for the rest.
    @Test func aRelistDeliversOnlyTheDifference() {
        var store = InformerStore()
        _ = store.replace(with: [
            configMap("kept", version: "1"), configMap("changed", version: "2"), configMap("gone", version: "3"),
        ])
        let events = store.replace(with: [
            configMap("kept", version: "1"), configMap("changed", version: "7", data: "new"),
            configMap("new", version: "8"),
        ])
        #expect(
            events == [
                .deleted(configMap("gone", version: "3")),
                .updated(old: configMap("changed", version: "2"), new: configMap("changed", version: "7", data: "new")),
                .added(configMap("new", version: "8")),
            ])
        #expect(store.all.map(\.key) == ["default/changed", "default/kept", "default/new"])
        #expect(store.replace(with: store.all).isEmpty, "relisting the same objects delivers nothing")
    }

    @Test func indexesFollowChanges() {
        var store = InformerStore(indexers: ["data": { [$0.json["data"]?["value"]?.stringValue ?? ""] }])
        _ = store.apply(.added, configMap("a", namespace: "one", version: "1", owner: "uid-1"))
        _ = store.apply(.added, configMap("b", namespace: "two", version: "2", data: "x", owner: "uid-1"))
        _ = store.apply(.added, configMap("c", namespace: "two", version: "3"))
        #expect(store.objects(index: StandardIndex.namespace, value: "two").map(\.key) == ["two/b", "two/c"])
        #expect(store.objects(index: StandardIndex.ownerUID, value: "uid-1").map(\.key) == ["one/a", "two/b"])
        #expect(store.objects(index: "data", value: "x").map(\.key) == ["two/b"])
        // An update that changes the owner moves the object between index values.
        _ = store.apply(.modified, configMap("b", namespace: "two", version: "4", owner: "uid-2"))
        #expect(store.objects(index: StandardIndex.ownerUID, value: "uid-1").map(\.key) == ["one/a"])
        #expect(store.objects(index: StandardIndex.ownerUID, value: "uid-2").map(\.key) == ["two/b"])
        #expect(store.objects(index: "data", value: "x").isEmpty)
        _ = store.apply(.deleted, configMap("a", namespace: "one", version: "5", owner: "uid-1"))
        #expect(store.objects(index: StandardIndex.ownerUID, value: "uid-1").isEmpty)
        #expect(store.objects(index: StandardIndex.namespace, value: "one").isEmpty)
    }
}

@Suite struct ObjectTests {
    @Test func anObjectDecodesIntoACodableType() throws {
        let lease = Lease(
            metadata: ObjectMeta(name: "aviary", namespace: "kube-system"),
            spec: LeaseSpec(holderIdentity: "a", leaseDurationSeconds: 15, leaseTransitions: 2))
        let object = try KubernetesObject(encoding: lease)
        #expect(object.key == "kube-system/aviary")
        #expect(object.json["spec"]?["leaseDurationSeconds"] == 15)
        #expect(try object.decoded(as: Lease.self) == lease)
        let large = try JSONValue(parsing: Data(#"{"n": 9007199254740993, "f": 1.5}"#.utf8))
        #expect(large["n"] == .integer(9_007_199_254_740_993))
        #expect(large["f"] == .double(1.5))
    }

    @Test func microTimeHasSixFractionalDigits() {
        #expect(MicroTime.string(from: Date(timeIntervalSince1970: 1_780_000_000.25)) == "2026-05-28T20:26:40.250000Z")
    }

    @Test func pathsAddressCoreAndGroupResources() {
        #expect(
            GroupVersionResource.configMaps.path(namespace: "ns", name: "a") == "/api/v1/namespaces/ns/configmaps/a")
        #expect(
            GroupVersionResource.rollouts.path(namespace: "ns", name: "r", subresource: "status")
                == "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/r/status")
        #expect(GroupVersionResource.replicaSets.path(namespace: nil) == "/apis/apps/v1/replicasets")
    }
}

/// What an informer keeps of an object: never `managedFields`, and with a `KeptFields` only the
/// members named, at any depth, arrays element by element.
@Suite struct ObjectTrimmingTests {
    static func object(_ text: String) throws -> KubernetesObject {
        try KubernetesObject(json: JSONValue(parsing: Data(text.utf8)))
    }

    @Test func managedFieldsAreDroppedAndNothingElse() throws {
        let object = try Self.object(
            #"{"kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"kubectl"}],"labels":{"a":"b"}},"spec":{"x":1}}"#)
        let trimmed = object.removingManagedFields()
        #expect(trimmed.json == (try Self.object(#"{"kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"x":1}}"#)).json)
        #expect(trimmed.metadata.name == "p")
        let without = try Self.object(#"{"metadata":{"name":"q"}}"#)
        #expect(without.removingManagedFields() == without)
    }

    @Test(arguments: [
        (#"{"a":1,"b":2}"#, KeptFields.members(["a": .all]), #"{"a":1}"#),
        (#"{"a":{"x":1,"y":2},"b":2}"#, .members(["a": .members(["y": .all])]), #"{"a":{"y":2}}"#),
        (
            #"{"c":[{"x":1,"y":2},{"x":3,"z":4}]}"#, .members(["c": .members(["x": .all])]),
            #"{"c":[{"x":1},{"x":3}]}"#
        ),
        (#"{"a":"text"}"#, .members(["a": .members(["x": .all])]), #"{"a":"text"}"#),
        (#"{"a":1}"#, .members(["missing": .all]), #"{}"#),
    ] as [(String, KeptFields, String)])
    func keepingTakesOnlyTheNamedMembers(input: String, kept: KeptFields, expected: String) throws {
        #expect(try Self.object(input).keeping(kept).json == (try Self.object(expected)).json)
    }
}
