import AviaryModel
import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// Aviary's durable state: one SQLite file (`aviary.sqlite`, WAL mode, `synchronous=FULL`) in the
/// state directory, holding resources with their generation, resource version and status,
/// rollout revisions, events, AnalysisRun measurements, and small named values the platform
/// keeps (the pods it runs).
///
/// Every method is one transaction: when it returns, the write is on disk and survives the
/// process being killed at any instant.
public final class AviaryStore: Sendable {
    /// The file name of the database inside the state directory.
    public static let fileName = "aviary.sqlite"

    /// The database file's path.
    public let path: String
    private let pool: DatabasePool
    private let now: @Sendable () -> Date
    /// How many events of one resource it keeps (`eventsKeptPerResource` unless given).
    public let eventsKept: Int
    /// Wakes watchers after every committed write.
    public let changes = StoreChanges()

    /// Opens (creating if needed) the store in `stateDirectory`, which is created with mode 0700.
    /// Runs SQLite's integrity check and the schema migrations before returning. `eventsKept`
    /// bounds each resource's events (tests of the bound give a small one).
    public init(
        stateDirectory: String, eventsKept: Int = AviaryStore.eventsKeptPerResource,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(StoreError) {
        self.eventsKept = eventsKept
        try Self.prepareDirectory(stateDirectory)
        let path = (stateDirectory as NSString).appendingPathComponent(Self.fileName)
        self.path = path
        self.now = now
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // FULL makes every commit wait for the WAL fsync, so an acknowledged write survives power loss.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Each connection of the pool (the writer and up to five readers) keeps its own page
            // cache, 2 MB by default. The daemon's hot data is in memory already (the
            // controller's decoded copies), and the file's pages stay in the kernel's cache, so
            // 512 KB each keeps reads fast at a fraction of the RSS.
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw Self.map(error, path: path)
        }
        try checkIntegrity()
        try migrate()
    }

    private static func prepareDirectory(_ directory: String) throws(StoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .cannotCreateDirectory(path: directory, reason: "a file with that name exists")
            }
        } else {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .cannotCreateDirectory(path: directory, reason: Self.reason(of: error))
            }
        }
        // Probe with a real file: access(2) says yes to root on a read-only mount or a full disk.
        let probe = (directory as NSString).appendingPathComponent(".aviary-write-probe")
        let descriptor = Glibc.open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOSPC { throw .diskFull(path: directory) }
            throw .notWritable(path: directory, reason: String(cString: strerror(code)))
        }
        let written = Glibc.write(descriptor, "x", 1)
        let writeErrno = errno
        close(descriptor)
        unlink(probe)
        if written != 1 {
            if writeErrno == ENOSPC { throw .diskFull(path: directory) }
            throw .notWritable(path: directory, reason: String(cString: strerror(writeErrno)))
        }
    }

    private static func reason(of error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }

    private static func map(_ error: Error, path: String) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        guard let databaseError = error as? DatabaseError else {
            return .database(path: path, message: "\(error)")
        }
        switch databaseError.resultCode {
        case .SQLITE_FULL: return .diskFull(path: (path as NSString).deletingLastPathComponent)
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN:
            return .notWritable(path: path, reason: databaseError.message ?? "\(databaseError.resultCode)")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return .corrupt(path: path, details: databaseError.message ?? "\(databaseError.resultCode)")
        default:
            return .database(path: path, message: databaseError.message ?? "\(databaseError)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            defer { changes.notify() }
            return try pool.write(body)
        } catch {
            throw Self.map(error, path: path)
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.map(error, path: path)
        }
    }

    private func checkIntegrity() throws(StoreError) {
        let problems: [String] = try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        if problems != ["ok"] {
            throw .corrupt(path: path, details: problems.prefix(3).joined(separator: "; "))
        }
    }

    private func migrate() throws(StoreError) {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
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
                    """)
        }
        // Finding a name in every namespace (the local platform's uniqueness rules) reads this.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "CREATE INDEX resources_by_name ON resources (kind, name)")
        }
        // v2's index lacked `namespace`, so SQLite answered `namespaces(ofKind:named:)` from the
        // primary key, which covers the query but only narrows it to the kind: every apply read
        // every stored resource of the kind once per document. With `namespace` in it, this index
        // covers the query and finds the name. Finding the Service that listens on a port (no two
        // may share one) reads the second, instead of decoding every stored Service on each apply.
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    DROP INDEX resources_by_name;
                    CREATE INDEX resources_by_name ON resources (kind, name, namespace);
                    CREATE INDEX services_by_port ON resources (\(Self.servicePort)) WHERE kind = 'Service';
                    """)
        }
        migrator.registerMigration("v4") { db in try Self.createNotificationOutbox(db) }
        do {
            try migrator.migrate(pool)
        } catch {
            throw Self.map(error, path: path)
        }
    }

    // MARK: - Resources

    /// Creates or updates a resource from its manifest (a JSON object with `apiVersion`, `kind`,
    /// `metadata`, `spec`; a `status` in it is ignored, as `kubectl apply` does).
    ///
    /// `generation` grows by one when `spec` changes; nothing is written when neither `spec`
    /// nor `metadata` changed.
    @discardableResult
    public func apply(_ manifest: Data) throws(StoreError) -> (StoredResource, ApplyOutcome) {
        try apply([manifest])[0]
    }

    /// Applies several manifests in one transaction: all of them are stored, or (on a full
    /// disk, a read-only file, any error) none, so an apply of a multi-document file is never
    /// left half-written. Outcomes come back in the order of `manifests`.
    @discardableResult
    public func apply(_ manifests: [Data]) throws(StoreError) -> [(StoredResource, ApplyOutcome)] {
        var allParts: [ManifestParts] = []
        for manifest in manifests { allParts.append(try ManifestParts(manifest)) }
        let createdAt = Self.timestamp(now())
        return try write { db -> [(StoredResource, ApplyOutcome)] in
            try allParts.map { parts in try Self.apply(parts, createdAt: createdAt, db) }
        }
    }

    private static func apply(
        _ parts: ManifestParts, createdAt: String, _ db: Database
    ) throws -> (StoredResource, ApplyOutcome) {
        if let existing = try Self.fetch(db, parts.key) {
            let specChanged = !Self.sameJSON(existing.spec, parts.spec)
            let metadataChanged = !Self.sameJSON(existing.metadata, parts.metadata)
            if !specChanged && !metadataChanged && existing.apiVersion == parts.apiVersion {
                return (existing, .unchanged)
            }
            var updated = existing
            updated.apiVersion = parts.apiVersion
            updated.metadata = parts.metadata
            updated.spec = parts.spec
            if specChanged { updated.generation += 1 }
            updated.resourceVersion = try Self.nextResourceVersion(db)
            try Self.save(db, updated)
            return (updated, .configured)
        }
        let created = StoredResource(
            key: parts.key, apiVersion: parts.apiVersion, generation: 1,
            resourceVersion: try Self.nextResourceVersion(db), metadata: parts.metadata, spec: parts.spec,
            status: nil, createdAt: createdAt)
        try Self.save(db, created)
        return (created, .created)
    }

    /// Replaces a resource's `spec` (for `set image`, `undo`, `restart`), growing its generation
    /// when it changed. Returns nil when the resource does not exist.
    @discardableResult
    public func updateSpec(_ key: ResourceKey, spec: Data) throws(StoreError) -> StoredResource? {
        try Self.requireObject(spec, what: "spec")
        return try write { db -> StoredResource? in
            guard var resource = try Self.fetch(db, key) else { return nil }
            if Self.sameJSON(resource.spec, spec) { return resource }
            resource.spec = spec
            resource.generation += 1
            resource.resourceVersion = try Self.nextResourceVersion(db)
            try Self.save(db, resource)
            return resource
        }
    }

    /// Writes a resource's status and the events that go with it in one transaction.
    ///
    /// With `expectedResourceVersion`, the write happens only if nobody wrote the resource since
    /// that version was read; otherwise it returns nil and writes nothing. It also returns nil
    /// when the resource no longer exists. A status equal to the stored one (byte for byte, or
    /// as JSON) is not written, so the resource version stays the same.
    @discardableResult
    public func updateStatus(
        _ key: ResourceKey, status: Data, events: [StoredEvent] = [], expectedResourceVersion: Int? = nil
    ) throws(StoreError) -> StoredResource? {
        try Self.requireObject(status, what: "status")
        let kept = eventsKept
        return try write { db -> StoredResource? in
            try Self.updateStatus(
                db,
                StatusUpdate(
                    key: key, status: status, events: events, expectedResourceVersion: expectedResourceVersion),
                eventsKept: kept)
        }
    }

    /// Several `updateStatus` calls in one transaction (one commit, so one sync to disk instead of
    /// one per status): each one's result, in order. A failure writes none of them.
    public func updateStatuses(_ updates: [StatusUpdate]) throws(StoreError) -> [StoredResource?] {
        for update in updates { try Self.requireObject(update.status, what: "status") }
        let kept = eventsKept
        return try write { db in try updates.map { try Self.updateStatus(db, $0, eventsKept: kept) } }
    }

    private static func updateStatus(_ db: Database, _ update: StatusUpdate, eventsKept: Int) throws -> StoredResource?
    {
        guard var resource = try fetch(db, update.key) else { return nil }
        if let expected = update.expectedResourceVersion, expected != resource.resourceVersion { return nil }
        try insert(db, update.events, kept: eventsKept)
        try enqueue(db, update.notifications)
        // Bytes first: the controller encodes with sorted keys, so an unchanged status is
        // found without parsing either side; only differing bytes are compared as JSON.
        if resource.status == update.status || sameJSON(resource.status, update.status) { return resource }
        resource.status = update.status
        resource.resourceVersion = try nextResourceVersion(db)
        try save(db, resource)
        return resource
    }

    /// The resource with this key, or nil.
    public func resource(_ key: ResourceKey) throws(StoreError) -> StoredResource? {
        try read { db in try Self.fetch(db, key) }
    }

    /// The resources with these keys, read in one transaction (a missing one is left out): what a
    /// pass over many keys reads, without a transaction per key.
    public func resources(_ keys: some Sequence<ResourceKey>) throws(StoreError) -> [ResourceKey: StoredResource] {
        try read { db in
            var result: [ResourceKey: StoredResource] = [:]
            for key in keys {
                if let resource = try Self.fetch(db, key) { result[key] = resource }
            }
            return result
        }
    }

    /// All resources of a kind, in one namespace or all (`namespace == nil`), sorted by namespace and name.
    public func resources(kind: ResourceKind, namespace: String? = nil) throws(StoreError) -> [StoredResource] {
        try read { db in
            let rows: [Row]
            if let namespace {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM resources WHERE kind = ? AND namespace = ? ORDER BY namespace, name",
                    arguments: [kind, namespace])
            } else {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM resources WHERE kind = ? ORDER BY namespace, name", arguments: [kind])
            }
            return rows.map { Self.resource(from: $0, kind: kind) }
        }
    }

    /// The namespaces holding a resource of this kind and name, sorted.
    public func namespaces(ofKind kind: ResourceKind, named name: String) throws(StoreError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT namespace FROM resources WHERE kind = ? AND name = ? ORDER BY namespace",
                arguments: [kind, name])
        }
    }

    /// The Services whose `spec.ports[0].port` is one of `ports`, sorted by namespace and name:
    /// one index lookup per port.
    public func services(listeningOn ports: some Sequence<Int>) throws(StoreError) -> [StoredResource] {
        try read { db in
            var found: [ResourceKey: StoredResource] = [:]
            let statement = try db.cachedStatement(
                sql: "SELECT * FROM resources WHERE kind = 'Service' AND \(Self.servicePort) = ?")
            for port in Set(ports) {
                for row in try Row.fetchAll(statement, arguments: [port]) {
                    let resource = Self.resource(from: row, kind: .service)
                    found[resource.key] = resource
                }
            }
            return found.values.sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
        }
    }

    /// The expression `services_by_port` indexes, which a query must spell the same way to use
    /// it. A spec that is not valid JSON (none is stored: `apply` parses it) has no port rather
    /// than failing the write.
    private static let servicePort =
        "CASE WHEN json_valid(spec) THEN json_extract(spec, '$.ports[0].port') END"

    /// The keys and resource versions of all resources of a kind, sorted by namespace and name:
    /// what a resync needs, without reading (and allocating) every spec and status.
    public func versions(kind: ResourceKind) throws(StoreError) -> [(key: ResourceKey, resourceVersion: Int)] {
        try read { db in
            let cursor = try Row.fetchCursor(
                db.cachedStatement(
                    sql:
                        "SELECT namespace, name, resourceVersion FROM resources WHERE kind = ? ORDER BY namespace, name"
                ),
                arguments: [kind])
            var result: [(key: ResourceKey, resourceVersion: Int)] = []
            while let row = try cursor.next() {
                result.append((ResourceKey(kind: kind, namespace: row[0], name: row[1]), row[2]))
            }
            return result
        }
    }

    /// How many resources of a kind a namespace has and the highest resource version among them:
    /// it changes whenever one of them is created, written or deleted (a deleted one lowers the
    /// count; a new or written one raises the highest version, which is unique store-wide).
    public func stamp(kind: ResourceKind, namespace: String) throws(StoreError) -> ResourceStamp {
        try read { db in try Self.stamp(db, kind: kind, namespace: namespace) }
    }

    private static func stamp(_ db: Database, kind: ResourceKind, namespace: String) throws -> ResourceStamp {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql:
                    "SELECT COUNT(*) AS count, MAX(resourceVersion) AS latest FROM resources WHERE kind = ? AND namespace = ?"
            ), arguments: [kind, namespace])
        return ResourceStamp(count: row?["count"] ?? 0, latestResourceVersion: row?["latest"] ?? 0)
    }

    /// `stamp(kind:namespace:)` of several namespaces, read in one transaction.
    public func stamps(kind: ResourceKind, namespaces: some Sequence<String>) throws(StoreError) -> [String: ResourceStamp] {
        try read { db in
            var result: [String: ResourceStamp] = [:]
            for namespace in namespaces { result[namespace] = try Self.stamp(db, kind: kind, namespace: namespace) }
            return result
        }
    }

    /// Deletes a resource with its events (and, for a rollout, its revisions). Returns whether it existed.
    @discardableResult
    public func delete(_ key: ResourceKey) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(
                sql: "DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?",
                arguments: [key.kind, key.namespace, key.name])
            let existed = db.changesCount > 0
            try db.execute(
                sql: "DELETE FROM events WHERE kind = ? AND namespace = ? AND name = ?",
                arguments: [key.kind, key.namespace, key.name])
            if key.kind == .rollout {
                try db.execute(
                    sql: "DELETE FROM revisions WHERE namespace = ? AND rollout = ?",
                    arguments: [key.namespace, key.name])
                // Its pending notifications are still sent (an abort, then a delete); what was sent goes.
                try db.execute(
                    sql: "DELETE FROM notifications WHERE namespace = ? AND rollout = ? AND state != 'pending'",
                    arguments: [key.namespace, key.name])
            }
            if key.kind == .analysisRun {
                try db.execute(
                    sql: "DELETE FROM measurements WHERE namespace = ? AND analysisRun = ?",
                    arguments: [key.namespace, key.name])
            }
            return existed
        }
    }

    // MARK: - Revisions, events, measurements

    /// Records a revision of a rollout's pod template; recording the same revision again replaces it.
    public func recordRevision(_ revision: StoredRevision) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO revisions (namespace, rollout, revision, podTemplateHash, template, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    revision.rollout.namespace, revision.rollout.name, revision.revision, revision.podTemplateHash,
                    String(decoding: revision.template, as: UTF8.self), revision.createdAt,
                ])
        }
    }

    /// Deletes the revisions of a rollout's pod template `podTemplateHash`: its ReplicaSet is gone
    /// (`revisionHistoryLimit`), so `undo` can no longer go back to it, as on Kubernetes. Without
    /// this a long-lived rollout kept one row per release for good.
    public func deleteRevisions(of rollout: ResourceKey, podTemplateHash: String) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "DELETE FROM revisions WHERE namespace = ? AND rollout = ? AND podTemplateHash = ?",
                arguments: [rollout.namespace, rollout.name, podTemplateHash])
        }
    }

    /// A rollout's revisions, oldest first.
    public func revisions(of rollout: ResourceKey) throws(StoreError) -> [StoredRevision] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM revisions WHERE namespace = ? AND rollout = ? ORDER BY revision",
                arguments: [rollout.namespace, rollout.name]
            ).map { row in
                StoredRevision(
                    rollout: rollout, revision: row["revision"], podTemplateHash: row["podTemplateHash"],
                    template: Data((row["template"] as String).utf8), createdAt: row["createdAt"])
            }
        }
    }

    /// Appends events.
    public func record(_ events: [StoredEvent]) throws(StoreError) {
        let kept = eventsKept
        try write { db in
            try Self.insert(db, events, kept: kept)
        }
    }

    /// How many events of one resource the store keeps by default; older ones are deleted as new ones come.
    public static let eventsKeptPerResource = 500

    /// The last `limit` events of a resource, oldest first.
    public func events(for key: ResourceKey, limit: Int = 100) throws(StoreError) -> [StoredEvent] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (SELECT * FROM events WHERE kind = ? AND namespace = ? AND name = ?
                    ORDER BY id DESC LIMIT ?) ORDER BY id
                    """,
                arguments: [key.kind, key.namespace, key.name, limit]
            ).map { row in
                StoredEvent(
                    key: key, type: row["type"], reason: row["reason"], message: row["message"], time: row["time"])
            }
        }
    }

    /// Appends measurements of AnalysisRuns that exist. A measurement that lands after its run
    /// was deleted (a history limit, `aviary delete`) is dropped, not kept as a row nothing owns.
    public func record(_ measurements: [StoredMeasurement]) throws(StoreError) {
        for measurement in measurements { try Self.requireObject(measurement.measurement, what: "measurement") }
        try write { db in
            for measurement in measurements {
                try db.execute(
                    sql: """
                        INSERT INTO measurements (namespace, analysisRun, metric, measurement)
                        SELECT ?, ?, ?, ? WHERE EXISTS (
                            SELECT 1 FROM resources WHERE kind = 'AnalysisRun' AND namespace = ? AND name = ?)
                        """,
                    arguments: [
                        measurement.analysisRun.namespace, measurement.analysisRun.name, measurement.metric,
                        String(decoding: measurement.measurement, as: UTF8.self), measurement.analysisRun.namespace,
                        measurement.analysisRun.name,
                    ])
            }
        }
    }

    /// An AnalysisRun's measurements, oldest first, optionally of one metric.
    public func measurements(
        of analysisRun: ResourceKey, metric: String? = nil
    ) throws(StoreError)
        -> [StoredMeasurement]
    {
        try read { db in
            var sql = "SELECT * FROM measurements WHERE namespace = ? AND analysisRun = ?"
            var arguments: StatementArguments = [analysisRun.namespace, analysisRun.name]
            if let metric {
                sql += " AND metric = ?"
                arguments += [metric]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map { row in
                StoredMeasurement(
                    analysisRun: analysisRun, metric: row["metric"],
                    measurement: Data((row["measurement"] as String).utf8))
            }
        }
    }

    // MARK: - Census

    /// How many rows each table holds, resources by kind (`resources/Rollout`): what `GET
    /// /debug/memory` reports, to tell whether the store grows with every release.
    public func rowCounts() throws(StoreError) -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) FROM resources GROUP BY kind") {
                let count: Int = row[1]
                counts["resources/" + (row[0] as String)] = count
            }
            for table in ["revisions", "events", "measurements", "platformState", "notifications"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    // MARK: - Platform state

    /// A value the platform stored under `key` (for example the PIDs of the pods it runs), or nil.
    public func platformValue(forKey key: String) throws(StoreError) -> Data? {
        try read { db in try Data.fetchOne(db, sql: "SELECT value FROM platformState WHERE key = ?", arguments: [key]) }
    }

    /// Stores a platform value under `key`, replacing the previous one.
    public func setPlatformValue(_ value: Data, forKey key: String) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO platformState (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    // MARK: - Rows

    static func fetch(_ db: Database, _ key: ResourceKey) throws -> StoredResource? {
        // Cached: the controller reads one resource per reconcile, and preparing costs more than running.
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM resources WHERE kind = ? AND namespace = ? AND name = ?"),
            arguments: [key.kind, key.namespace, key.name]
        ).map { resource(from: $0, kind: key.kind) }
    }

    /// Reads a `SELECT *` row of `resources` by column index (the order of the CREATE TABLE):
    /// looking columns up by name costs more than the rest of the read. Every query selects one
    /// kind, so the row's own `kind` column is not read back.
    private static func resource(from row: Row, kind: ResourceKind) -> StoredResource {
        let spec: String? = row[7]
        let status: String? = row[8]
        return StoredResource(
            key: ResourceKey(kind: kind, namespace: row[1], name: row[2]),
            apiVersion: row[3], generation: row[4], resourceVersion: row[5],
            metadata: Data((row[6] as String).utf8), spec: spec.map { Data($0.utf8) },
            status: status.map { Data($0.utf8) }, createdAt: row[9])
    }

    private static func save(_ db: Database, _ resource: StoredResource) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO resources
                (kind, namespace, name, apiVersion, generation, resourceVersion, metadata, spec, status, createdAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                resource.key.kind, resource.key.namespace, resource.key.name, resource.apiVersion,
                resource.generation, resource.resourceVersion, String(decoding: resource.metadata, as: UTF8.self),
                resource.spec.map { String(decoding: $0, as: UTF8.self) },
                resource.status.map { String(decoding: $0, as: UTF8.self) }, resource.createdAt,
            ])
    }

    /// Inserts events, then drops each resource's events beyond `kept`: a
    /// long-lived rollout records events on every release, and the database (with the daemon's
    /// page cache) must not grow with every release.
    private static func insert(_ db: Database, _ events: [StoredEvent], kept: Int) throws {
        for event in events { try insert(db, event) }
        for key in Set(events.map(\.key)) {
            try db.execute(
                sql: """
                    DELETE FROM events WHERE kind = ? AND namespace = ? AND name = ? AND id <= (
                        SELECT id FROM events WHERE kind = ? AND namespace = ? AND name = ?
                        ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """,
                arguments: [
                    key.kind, key.namespace, key.name, key.kind, key.namespace, key.name, kept,
                ])
        }
    }

    private static func insert(_ db: Database, _ event: StoredEvent) throws {
        try db.execute(
            sql: "INSERT INTO events (kind, namespace, name, type, reason, message, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                event.key.kind, event.key.namespace, event.key.name, event.type, event.reason, event.message,
                event.time,
            ])
    }

    private static func nextResourceVersion(_ db: Database) throws -> Int {
        try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'resourceVersion'")
        return try Int.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'resourceVersion'") ?? 0
    }

    // MARK: - JSON

    static func sameJSON(_ lhs: Data?, _ rhs: Data?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (let lhs?, let rhs?): return canonical(lhs) == canonical(rhs)
        default: return false
        }
    }

    private static func canonical(_ data: Data) -> Data {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let encoded = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
        else { return data }
        return encoded
    }

    private static func requireObject(_ data: Data, what: String) throws(StoreError) {
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw .invalidObject(reason: "\(what) must be a JSON object")
        }
    }

    /// RFC 3339 in UTC with seconds, as Kubernetes writes timestamps (the model's codec).
    public static func timestamp(_ date: Date) -> String {
        RFC3339.format(date)
    }
}

/// The parts of a manifest the store keeps apart, checked to be present.
struct ManifestParts {
    var key: ResourceKey
    var apiVersion: String
    var metadata: Data
    var spec: Data?

    init(_ manifest: Data) throws(StoreError) {
        guard let object = (try? JSONSerialization.jsonObject(with: manifest)) as? [String: Any] else {
            throw .invalidObject(reason: "the manifest is not a JSON object")
        }
        guard let kindName = object["kind"] as? String, !kindName.isEmpty else {
            throw .invalidObject(reason: "kind is missing")
        }
        guard let kind = ResourceKind(rawValue: kindName) else {
            let known = ResourceKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidObject(reason: "kind \(kindName) is not one the store keeps (\(known))")
        }
        guard let apiVersion = object["apiVersion"] as? String, !apiVersion.isEmpty else {
            throw .invalidObject(reason: "apiVersion is missing")
        }
        guard var metadata = object["metadata"] as? [String: Any], let name = metadata["name"] as? String,
            !name.isEmpty
        else {
            throw .invalidObject(reason: "metadata.name is missing")
        }
        let namespace = (metadata["namespace"] as? String) ?? "default"
        // Counters are the store's; a client's copy of them must not make a change look like one.
        for field in ["generation", "resourceVersion", "creationTimestamp", "uid"] {
            metadata.removeValue(forKey: field)
        }
        metadata["namespace"] = namespace.isEmpty ? "default" : namespace
        key = ResourceKey(kind: kind, namespace: namespace, name: name)
        self.apiVersion = apiVersion
        do {
            self.metadata = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            if kind.hasTopLevelBody {
                self.spec = try JSONSerialization.data(
                    withJSONObject: Self.topLevelBody(of: object, kind: kind), options: [.sortedKeys])
            } else if let spec = object["spec"] {
                guard spec is [String: Any] else { throw StoreError.invalidObject(reason: "spec must be an object") }
                self.spec = try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .invalidObject(reason: "\(error)")
        }
    }

    /// The fields of a ConfigMap or Secret beside `apiVersion`, `kind` and `metadata` (`data`,
    /// `type`...), kept in the `spec` column. A Secret's `stringData` is folded into `data` as
    /// base64, as the Kubernetes API server does on write, so it is read back one way.
    private static func topLevelBody(of object: [String: Any], kind: ResourceKind) -> [String: Any] {
        var body = object
        for field in ["apiVersion", "kind", "metadata", "status"] { body.removeValue(forKey: field) }
        if kind == .secret, let plain = body.removeValue(forKey: "stringData") as? [String: Any] {
            var data = body["data"] as? [String: Any] ?? [:]
            for (key, value) in plain {
                if let text = value as? String { data[key] = Data(text.utf8).base64EncodedString() }
            }
            body["data"] = data
        }
        return body
    }
}
