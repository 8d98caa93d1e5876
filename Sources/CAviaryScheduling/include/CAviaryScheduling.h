#ifndef C_AVIARY_SCHEDULING_H
#define C_AVIARY_SCHEDULING_H

/// Asks the kernel to run the calling thread in time slices of `nanoseconds` (Linux's EEVDF
/// scheduler, 6.12 and later, clamps it to 0.1 to 100 ms; 0 asks for the default slice again).
/// The thread's policy, nice value and reset-on-fork flag stay as they are; a thread with a
/// real-time or deadline policy is left alone. Returns 0, or the errno of
/// `sched_getattr`/`sched_setattr` (ENOSYS where there is no such call). A kernel before 6.12
/// accepts the call and keeps its own slice.
int aviary_request_time_slice(unsigned long long nanoseconds);

#endif
