import AviaryPlatform
import AviaryStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the daemon holds that could grow with every release: the rows of each store table, the
/// entries of each in-memory cache and table, and glibc's heap. `GET /debug/memory` answers it as
/// JSON; a soak or a test compares two of them taken releases apart.
public struct MemoryCensus: Codable, Sendable, Equatable {
    /// Rows by table (`resources/KIND`, `revisions`, `events`, `measurements`, `platformState`, `notifications`).
    public var storeRows: [String: Int]
    /// Entries by cache (`controller.decodedRollouts`, `metrics.analysisRunMetricPhases`, ...).
    public var cacheEntries: [String: Int]
    /// glibc's heap, when it can be read.
    public var heap: HeapCounters?

    /// Takes the census of a daemon's parts.
    public static func take(
        store: AviaryStore, controller: Controller, metrics: DaemonMetrics, analysis: AnalysisCoordinator,
        platform: any Platform
    ) async throws -> MemoryCensus {
        var caches = await controller.cacheEntries()
        caches.merge(await metrics.entryCounts()) { first, _ in first }
        caches["analysis.handles"] = await analysis.handleCount
        caches["platform.replicaSets"] = await platform.replicaSets().count
        caches["platform.pods"] = await platform.pods().count
        caches["platform.splits"] = await platform.splits().count
        return MemoryCensus(storeRows: try store.rowCounts(), cacheEntries: caches, heap: HeapCounters.read())
    }
}

/// glibc's account of the heap, from `malloc_info`: what malloc got from the kernel (all arenas,
/// and chunks mapped on their own), and how much of it is free in the arenas. RSS follows
/// `systemBytes`; `inUseBytes` is what live objects take.
public struct HeapCounters: Codable, Sendable, Equatable {
    /// Bytes the arenas hold from the kernel, plus separately mapped chunks.
    public var systemBytes: Int
    /// Bytes of live allocations.
    public var inUseBytes: Int
    /// Free bytes kept in the arenas.
    public var freeBytes: Int

    /// Creates counters.
    public init(systemBytes: Int, inUseBytes: Int, freeBytes: Int) {
        self.systemBytes = systemBytes
        self.inUseBytes = inUseBytes
        self.freeBytes = freeBytes
    }

    /// The counters now; nil where glibc's `malloc_info` is missing.
    public static func read() -> HeapCounters? {
        #if canImport(Glibc)
            guard let mallocInfo else { return nil }
            var buffer: UnsafeMutablePointer<CChar>?
            var size = 0
            guard let stream = open_memstream(&buffer, &size) else { return nil }
            let status = mallocInfo(0, stream)
            fclose(stream)
            defer { free(buffer) }
            guard status == 0, let buffer else { return nil }
            return parse(String(cString: buffer))
        #else
            return nil
        #endif
    }

    /// Reads the totals at the end of `malloc_info`'s XML (after every arena's own lines):
    /// `<total type="fast|rest" size=...>` are free chunks, `<total type="mmap" size=...>` the
    /// separately mapped (live) chunks, `<system type="current" size=...>` what the arenas hold.
    static func parse(_ xml: String) -> HeapCounters? {
        // The totals follow the last `</heap>`; each arena's lines before it use the same names.
        let tail = xml.range(of: "</heap>", options: .backwards).map { xml[$0.upperBound...] } ?? xml[...]
        func size(_ element: String, _ type: String) -> Int? {
            guard let start = tail.range(of: "<\(element) type=\"\(type)\"") else { return nil }
            let rest = tail[start.upperBound...]
            guard let sizeStart = rest.range(of: "size=\""),
                sizeStart.lowerBound < (rest.firstIndex(of: ">") ?? rest.endIndex)
            else { return nil }
            return Int(rest[sizeStart.upperBound...].prefix { $0.isNumber })
        }
        guard let fast = size("total", "fast"), let rest = size("total", "rest"),
            let mapped = size("total", "mmap"), let current = size("system", "current")
        else { return nil }
        return HeapCounters(
            systemBytes: current + mapped, inUseBytes: current - fast - rest + mapped, freeBytes: fast + rest)
    }

    #if canImport(Glibc)
        /// `int malloc_info(int options, FILE *stream)`, looked up once like the calls in `Heap`.
        private static let mallocInfo: (@convention(c) (Int32, UnsafeMutablePointer<FILE>) -> Int32)? = dlsym(
            nil, "malloc_info"
        ).map { unsafeBitCast($0, to: (@convention(c) (Int32, UnsafeMutablePointer<FILE>) -> Int32).self) }
    #endif
}
