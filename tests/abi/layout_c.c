/* layout_c: the C side of tests/abi/layout.h. Compiling it is the test (every size,
 * alignment and offset asserted at compile time); running it only proves it linked. */
#include "layout.h"

int main(void)
{
    return 0;
}
