/* Criterion suite for the foundation: weft_strerror and the monotonic clock. */
#include <criterion/criterion.h>
#include <string.h>
#include <weft/sync.h>

Test(common, strerror_knows_every_documented_code)
{
    int codes[] = {0, -EINVAL, -ENOMEM, -EAGAIN, -EBUSY, -ETIMEDOUT, -EPIPE, -EDEADLK, -EPERM, -ECANCELED, -EPROTO, -ENOTSUP};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = weft_strerror(codes[i]);
        cr_assert_not_null(s);
        cr_assert_str_neq(s, "unknown error", "code %d", codes[i]);
        cr_assert_str_eq(s, weft_strerror(-codes[i]), "sign must not matter");
    }
    cr_assert_str_eq(weft_strerror(-12345), "unknown error");
}

Test(common, clock_is_monotonic_and_deadlines_saturate)
{
    uint64_t a = weft_time_now_ns(), b = weft_time_now_ns();
    cr_assert_geq(b, a);
    cr_assert_eq(weft_deadline_after(WEFT_NO_DEADLINE), WEFT_NO_DEADLINE);
    cr_assert_eq(weft_deadline_after(UINT64_MAX - 1), WEFT_NO_DEADLINE);
    uint64_t d = weft_deadline_after(1000000);
    cr_assert_geq(d, b + 1000000);
}

Test(common, deadline_passed)
{
    cr_assert_not(weft_deadline_passed(WEFT_NO_DEADLINE));
    cr_assert(weft_deadline_passed(0));
    cr_assert(weft_deadline_passed(weft_time_now_ns()));
    cr_assert_not(weft_deadline_passed(weft_deadline_after(60ull * 1000000000u)));
}
