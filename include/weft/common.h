/* weft/common.h: what every weft header shares: the export macro, the version, the
 * error convention and weft_strerror().
 *
 * Error convention (all of weft): a function that can fail returns 0 on success or a
 * negative errno value (-EINVAL, -ENOMEM, -EAGAIN, -EBUSY, -ETIMEDOUT, -EPIPE, ...).
 * Each function's comment lists the errors it can return. */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0

/* The binary interface's version: libweft's soname is libweft.so.WEFT_ABI_VERSION
 * (CMakeLists.txt reads it from here). It covers the exported functions and the
 * layouts the headers expose, weft/inline.h's worker view and frame included: an
 * incompatible change to any of them bumps it. */
#define WEFT_ABI_VERSION 2

/* C and C++. Every header compiles as C11 and as C++ (17 and later); the layouts of
 * the public structs are the same in both (tests/abi/layout.h asserts them from both
 * languages). Only these spellings differ:
 *  - WEFT__ATOMIC(T): an atomic field or futex word of the public structs. C sees
 *    _Atomic(T). C++ has no _Atomic (before C++23's <stdatomic.h>), and std::atomic<T>
 *    is not promised to share _Atomic(T)'s layout, so C++ sees plain T: for the
 *    scalars used here (32- and 64-bit integers, int, pointers) _Atomic(T) has T's
 *    size and alignment on the ABIs weft builds for. C++ code never touches these
 *    fields (nor should C code): only libweft and the inline functions below do, the
 *    latter through __atomic builtins in C++ (WEFT__LOAD_ACQUIRE).
 *  - WEFT__ALIGNAS(n): C11's _Alignas, C++'s alignas. */
#ifdef __cplusplus
#define WEFT__ATOMIC(T) T
#define WEFT__ALIGNAS(n) alignas(n)
#define WEFT__LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#else
#define WEFT__ATOMIC(T) _Atomic(T)
#define WEFT__ALIGNAS(n) _Alignas(n)
#define WEFT__LOAD_ACQUIRE(p) atomic_load_explicit((p), memory_order_acquire)
#endif

#if defined(WEFT_BUILDING)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A static, human-readable description of a weft error code. Accepts the negative
 * value weft returns (or a positive errno); never returns NULL; thread-safe. */
WEFT_API const char *weft_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_COMMON_H */
