#if canImport(Glibc)
    import Glibc
#endif

/// glibc malloc settings for a daemon that holds many small objects for a long time. Both calls
/// are glibc's but not in Swift's Glibc module, so they are looked up by name, once; elsewhere
/// they do nothing.
enum Heap {
    /// Caps the number of malloc arenas. glibc gives each thread that contends for the heap an
    /// arena of its own (up to 8 per core); the controller's objects then end up spread over
    /// several arenas whose free pages are never reused by the others. At 10,000 rollouts two
    /// arenas instead of the default kept the RSS about 30 MB lower with no slower pass.
    static func limitArenas(to count: Int32) {
        #if canImport(Glibc)
            // M_ARENA_MAX in malloc.h.
            if let mallopt = Self.mallopt { _ = mallopt(-8, count) }
        #endif
    }

    /// Hands the heap's free pages back to the kernel. A pass allocates and frees much (store
    /// rows, statuses, observations); without this the freed memory stays in the process's RSS.
    /// Costs a few milliseconds per resync.
    static func releaseFreedMemory() {
        #if canImport(Glibc)
            if let trim = Self.mallocTrim { _ = trim(0) }
        #endif
    }

    #if canImport(Glibc)
        /// Looked up in the process's global symbols (RTLD_DEFAULT is null).
        private static let mallocTrim: (@convention(c) (Int) -> Int32)? = dlsym(nil, "malloc_trim").map {
            unsafeBitCast($0, to: (@convention(c) (Int) -> Int32).self)
        }
        private static let mallopt: (@convention(c) (Int32, Int32) -> Int32)? = dlsym(nil, "mallopt").map {
            unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self)
        }
    #endif
}
