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
#define WEFT_ABI_VERSION 1

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
