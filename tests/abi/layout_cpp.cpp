/* layout_cpp: weft's C headers used from C++. Compiles weft.h (every public header)
 * as C++ against the layouts of tests/abi/layout.h (the same numbers the C side
 * asserts), checks that every public struct is standard-layout and trivially copyable
 * in C++ (as a C struct must be, to be shared with C), then links libweft and runs its
 * C API once through each kind of header code: out-of-line calls, the inline once
 * check, and an inline fork-join task (weft/inline.h). Exits non-zero on failure. */
#include "layout.h"

#include <cstdio>
#include <string_view>
#include <type_traits>

#define LAYOUT_CPP_TYPE(T, size, align)                                                      \
    static_assert(std::is_standard_layout<T>::value, #T " is not standard-layout in C++");  \
    static_assert(std::is_trivially_copyable<T>::value, #T " is not trivially copyable in C++");
#define LAYOUT_CPP_FIELD(T, field, off)
WEFT_LAYOUT(LAYOUT_CPP_TYPE, LAYOUT_CPP_FIELD)

#define EXPECT(cond)                                                                         \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond);           \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

WEFT_TASK_1(long, fib, int, n)
{
    if (n < 2)
        return n;
    WEFT_FRAME(fib) f;
    WEFT_FORK(fib, &f, n - 1);
    long b = fib(n - 2);
    return WEFT_JOIN(fib, &f) + b;
}

static void fib_root(void *arg)
{
    *static_cast<long *>(arg) = fib(20);
}

static int once_runs = 0;
static void once_fn(void *) { once_runs++; }

static int count_task(weft_scope *, void *arg)
{
    __atomic_fetch_add(static_cast<int *>(arg), 1, __ATOMIC_RELAXED);
    return 0;
}

int main()
{
    weft_mutex m = WEFT_MUTEX_INIT;
    EXPECT(weft_mutex_lock(&m) == 0);
    EXPECT(weft_mutex_try_lock(&m) == -EBUSY);
    EXPECT(weft_mutex_unlock(&m) == 0);
    EXPECT(weft_mutex_destroy(&m) == 0);

    weft_once once = WEFT_ONCE_INIT;
    EXPECT(!weft_once_is_done(&once));
    EXPECT(weft_once_call(&once, once_fn, nullptr) == 0);
    EXPECT(weft_once_call(&once, once_fn, nullptr) == 0);
    EXPECT(weft_once_is_done(&once) && once_runs == 1);

    long r = 0;
    EXPECT(weft_pool_run(nullptr, fib_root, &r) == 0);
    EXPECT(r == 6765);

    weft_scope s;
    int ran = 0;
    EXPECT(weft_scope_init(&s, nullptr) == 0);
    for (int i = 0; i < 100; i++)
        EXPECT(weft_scope_spawn(&s, count_task, &ran) == 0);
    EXPECT(weft_scope_wait(&s) == 0);
    EXPECT(ran == 100);

    EXPECT(std::string_view(weft_strerror(-EPIPE)).size() > 0);
    std::puts("ok");
    return 0;
}
