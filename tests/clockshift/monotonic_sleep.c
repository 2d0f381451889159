/*
 * Preloaded before libfaketime for the clock-shifted test runs (see docs/testing.md).
 *
 * We shift only the wall clock (FAKETIME_DONT_FAKE_MONOTONIC=1): a shifted monotonic clock makes
 * CPython's lock timeouts (sem_clockwait, which libfaketime 0.9.10 does not intercept) wait for
 * years. But libfaketime 0.9.10 also rewrites the deadline of an absolute clock_nanosleep on the
 * monotonic clock as if that clock were shifted, so time.sleep() fails with EINVAL. This sends
 * sleeps on the clocks that are not shifted straight to the kernel and leaves the rest to
 * libfaketime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request,
                    struct timespec *remain)
{
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (clock_id != CLOCK_REALTIME) {
        if (syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == -1)
            return errno;
        return 0;
    }
    if (next == NULL)
        next = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(
            RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, request, remain);
}
