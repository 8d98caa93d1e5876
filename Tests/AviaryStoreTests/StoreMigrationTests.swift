import Foundation
import GRDB
import Testing

@testable import AviaryStore

/// A store opened on a database that an older Aviary wrote: every later migration runs, the
/// data it held reads back, and the store goes on working. The older databases are made here
/// with the schema each version shipped (frozen copies, not the migrator), holding rows as
/// that version wrote them.
@Suite struct StoreMigrationTests {
    /// The schema of the first release (migration v1), as it created it.
    static let version1Schema = """
        CREATE TABLE resources (
            kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
            apiVersion TEXT NOT NULL,
            generation INTEGER NOT NULL, resourceVersion INTEGER NOT NULL,
            metadata TEXT NOT NULL, spec TEXT, status TEXT,
            createdAt TEXT NOT NULL,
            PRIMARY KEY (kind, namespace, name));
        CREATE TABLE revisions (
            namespace TEXT NOT NULL, rollout TEXT NOT NULL, revision INTEGER NOT NULL,
            podTemplateHash TEXT NOT NULL, template TEXT NOT NULL, createdAt TEXT NOT NULL,
            PRIMARY KEY (namespace, rollout, revision));
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
            type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL, time TEXT NOT NULL);
        CREATE INDEX events_by_resource ON events (kind, namespace, name, id);
        CREATE TABLE measurements (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL, analysisRun TEXT NOT NULL, metric TEXT NOT NULL,
            measurement TEXT NOT NULL);
        CREATE INDEX measurements_by_run ON measurements (namespace, analysisRun, metric, id);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters VALUES ('resourceVersion', 0);
        CREATE TABLE platformState (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        """

    /// What each release added on top of the one before, by migration name.
    static let schemaSteps: [(name: String, sql: String)] = [
        ("v1", version1Schema),
        ("v2", "CREATE INDEX resources_by_name ON resources (kind, name)"),
    ]

    /// Writes, in `directory`, the database of the release whose last migration was `last`,
    /// holding a Service on port 8080 and a Rollout with a status, a revision and an event.
    static func makeOlderDatabase(in directory: String, upTo last: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: directory + "/" + AviaryStore.fileName)
        try queue.write { db in
            // GRDB's migrator keeps the names of the migrations it ran in this table.
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for step in schemaSteps {
                try db.execute(sql: step.sql)
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [step.name])
                if step.name == last { break }
            }
            try db.execute(
                sql: """
                    INSERT INTO resources VALUES
                    ('Service', 'default', 'web', 'v1', 1, 1, '{"name":"web","namespace":"default"}',
                     '{"ports":[{"port":8080}]}', NULL, '2025-01-01T00:00:00Z'),
                    ('Rollout', 'default', 'web', 'argoproj.io/v1alpha1', 2, 3,
                     '{"name":"web","namespace":"default"}', '{"replicas":2}', '{"phase":"Healthy"}',
                     '2025-01-01T00:00:00Z');
                    UPDATE counters SET value = 3 WHERE name = 'resourceVersion';
                    INSERT INTO revisions VALUES ('default', 'web', 1, 'abc', '{}', '2025-01-01T00:00:00Z');
                    INSERT INTO events (kind, namespace, name, type, reason, message, time)
                    VALUES ('Rollout', 'default', 'web', 'Normal', 'RolloutCompleted', 'done', '2025-01-01T00:00:00Z');
                    """)
        }
    }

    /// The SQL of the index `name`, nil when there is none.
    static func indexSQL(_ name: String, in directory: String) throws -> String? {
        let queue = try DatabaseQueue(path: directory + "/" + AviaryStore.fileName)
        return try queue.read { db in
            try String.fetchOne(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name])
        }
    }

    @Test(arguments: ["v1", "v2"])
    func anOlderDatabaseIsMigratedAndKeepsItsData(_ last: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeOlderDatabase(in: directory.path, upTo: last)

        let store = try AviaryStore(stateDirectory: directory.path)
        // What the older release wrote reads back.
        let rollout = try #require(try store.resource(ResourceKey(kind: .rollout, name: "web")))
        #expect(rollout.generation == 2 && rollout.resourceVersion == 3)
        #expect(json(rollout.status)?["phase"] as? String == "Healthy")
        #expect(try store.revisions(of: ResourceKey(kind: .rollout, name: "web")).map(\.podTemplateHash) == ["abc"])
        #expect(try store.events(for: ResourceKey(kind: .rollout, name: "web")).map(\.reason) == ["RolloutCompleted"])
        #expect(try store.namespaces(ofKind: .rollout, named: "web") == ["default"])
        #expect(try store.services(listeningOn: [8080]).map(\.key.name) == ["web"])

        // Every later migration ran: v3's indexes are there, v2's old one is replaced.
        let byName = try #require(try Self.indexSQL("resources_by_name", in: directory.path))
        #expect(byName.contains("(kind, name, namespace)"), "\(byName)")
        #expect(try Self.indexSQL("services_by_port", in: directory.path) != nil)
        // v4's notification outbox is there, empty.
        #expect(try store.pendingNotificationCount() == 0)

        // And the store goes on: versions continue from the stored counter.
        let (updated, _) = try store.apply(
            Data(
                #"{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"web"},"spec":{"replicas":3}}"#
                    .utf8))
        #expect(updated.generation == 3 && updated.resourceVersion == 4)
    }

    @Test func aCurrentDatabaseOpensAgainUnchanged() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try Self.makeOlderDatabase(in: directory.path, upTo: "v2")
        _ = try AviaryStore(stateDirectory: directory.path)
        let first = try Self.indexSQL("resources_by_name", in: directory.path)
        let store = try AviaryStore(stateDirectory: directory.path)
        #expect(try Self.indexSQL("resources_by_name", in: directory.path) == first)
        #expect(try store.resource(ResourceKey(kind: .service, name: "web")) != nil)
    }
}
