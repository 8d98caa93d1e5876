import CAviaryScheduling

/// The time slice the kernel runs the calling thread in (`TurnPolicy.timeSlice`).
enum TimeSlice {
    /// Asks for slices of `nanoseconds` for the calling thread; 0 asks for the kernel's default
    /// again. Returns 0, or the errno the kernel answered with (a router runs on either way, with
    /// the kernel's slice).
    @discardableResult
    static func request(nanoseconds: UInt64) -> Int32 {
        aviary_request_time_slice(nanoseconds)
    }
}
