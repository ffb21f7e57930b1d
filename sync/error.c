/* error.c: weft_strerror, the text for weft's negative-errno error codes.
 * Invariant: returns a static string for every input, never NULL. */
#include <weft/common.h>
#include <limits.h>
#include <string.h>

const char *weft_strerror(int err)
{
    if (err < 0)
        err = err == INT_MIN ? INT_MAX : -err; /* -INT_MIN overflows; neither is an errno */
    switch (err) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ENOMEM: return "out of memory";
    case EAGAIN: return "resource temporarily unavailable (would block, or a limit was reached)";
    case EBUSY: return "busy (held or in use)";
    case ETIMEDOUT: return "timed out";
    case EPIPE: return "disconnected: the other side of the channel is closed";
    case EDEADLK: return "deadlock avoided (the caller already holds it, or waits on itself)";
    case EPERM: return "not permitted (the caller does not hold it)";
    case ECANCELED: return "cancelled";
    case EPROTO: return "binary interface mismatch: the program was compiled for another libweft (weft/inline.h)";
    case ENOTSUP: return "not supported by this build of libweft";
    default: break;
    }
    /* Not strerror/strerror_r: strerror is not thread-safe, and strerror_r's GNU form
     * may write into a caller's buffer, which a static result cannot be. */
    return "unknown error";
}
