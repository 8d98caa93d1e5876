#include "CAviaryScheduling.h"

#include <errno.h>

#if defined(__linux__)
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// The kernel's struct sched_attr as of its first version (48 bytes): glibc before 2.41 has no
// wrapper for these calls, and Swift cannot call the variadic syscall(2).
struct aviary_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

// The fair policies, whose sched_runtime is the slice (for SCHED_DEADLINE it is the runtime).
enum { aviary_sched_other = 0, aviary_sched_batch = 3, aviary_sched_flag_reset_on_fork = 1 };

int aviary_request_time_slice(unsigned long long nanoseconds) {
    struct aviary_sched_attr attr;
    memset(&attr, 0, sizeof attr);
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return errno;
    if (attr.sched_policy != aviary_sched_other && attr.sched_policy != aviary_sched_batch) return 0;
    attr.size = sizeof attr;
    attr.sched_flags &= aviary_sched_flag_reset_on_fork;
    attr.sched_runtime = nanoseconds;
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return errno;
    return 0;
}
#else
int aviary_request_time_slice(unsigned long long nanoseconds) {
    (void)nanoseconds;
    return ENOSYS;
}
#endif
