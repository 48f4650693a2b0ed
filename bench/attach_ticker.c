/* A native thread for bench/attach_target.py: wakes every millisecond without ever taking the
 * GIL and remembers the longest gap between two wake-ups. A debugger that stops every thread of
 * the process (gdb) shows here; one that stops only the main thread (borescope's ptrace) does not.
 *
 * Built by bench/attach_legacy.py with the system C compiler; loaded with ctypes. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static atomic_long longest_gap_ns;
static atomic_int reset_requested;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *tick(void *unused) {
    (void)unused;
    const struct timespec period = {0, 1000000};
    long last = now_ns();
    for (;;) {
        nanosleep(&period, 0);
        long now = now_ns();
        if (atomic_exchange(&reset_requested, 0)) {
            atomic_store(&longest_gap_ns, 0);
        } else if (now - last > atomic_load(&longest_gap_ns)) {
            atomic_store(&longest_gap_ns, now - last);
        }
        last = now;
    }
    return 0;
}

int ticker_start(void) {
    pthread_t thread;
    int error = pthread_create(&thread, 0, tick, 0);
    if (error == 0) {
        pthread_detach(thread);
    }
    return error;
}

void ticker_reset(void) { atomic_store(&reset_requested, 1); }

long ticker_longest_gap_ns(void) { return atomic_load(&longest_gap_ns); }
