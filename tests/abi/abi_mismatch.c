/* abi_mismatch: a program whose view of weft/inline.h's layout is not libweft's must
 * stop at startup, before any inline fork can corrupt memory. Built with
 * -fpack-struct=4 (tests/CMakeLists.txt), which moves weft_frame's waiter: the
 * constructor the header puts in this translation unit reports the mismatch and
 * aborts, so main never runs (the test expects the message and SIGABRT). */
#include <stdio.h>
#include <weft/inline.h>

WEFT_TASK_1(int, twice, int, x) { return 2 * x; }

int main(void)
{
    WEFT_FRAME(twice) f;
    WEFT_FORK(twice, &f, 21);
    printf("main ran: %d\n", WEFT_JOIN(twice, &f));
    return 0;
}
