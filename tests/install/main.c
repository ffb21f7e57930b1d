/* A user's first program against an installed weft: the umbrella header and a call. */
#include <weft.h>
#include <stdio.h>

int main(void)
{
    uint64_t t0 = weft_time_now_ns();
    if (weft_time_now_ns() < t0)
        return 1;
    printf("weft %d.%d: %s\n", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, weft_strerror(-ETIMEDOUT));
    return 0;
}
