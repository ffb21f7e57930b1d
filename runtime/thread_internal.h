/* thread_internal.h: what libweft's own threads need of thread.c beyond the public
 * weft_thread_spawn — a start on a given set of CPUs.
 *
 * Why: a new thread inherits its creator's affinity mask. A pool's workers must not:
 * a pool created by a thread pinned to one CPU (its count taken from the whole
 * process, topology.c) would otherwise confine every unpinned worker to that CPU for
 * good, and every pinned one until it binds itself to its place (for good, if a
 * real-time creator keeps that CPU busy). */
#ifndef WEFT_THREAD_INTERNAL_H
#define WEFT_THREAD_INTERNAL_H

#include <weft/runtime.h>

#include <sched.h>
#include <stddef.h>

/* weft_thread_spawn, the thread starting on the CPUs of `set` (`size` bytes, as
 * CPU_ALLOC_SIZE gives) instead of its creator's. set NULL, or a set the system does
 * not accept at the thread's creation (a CPU gone offline meanwhile): the thread
 * inherits its creator's mask, as weft_thread_spawn's does. opts->pin_cpu, if set,
 * wins. Returns what weft_thread_spawn returns. */
int weft__thread_spawn_on(const weft_thread_options *opts, const cpu_set_t *set, size_t size, weft_thread_fn fn,
                          void *arg, weft_thread **out);

#endif
