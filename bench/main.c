/* main.c: the weft-bench driver (placeholder until the sync benchmarks land). */
#include <stdio.h>
int main(void)
{
    puts("weft-bench: no benchmarks built yet");
    return 0;
}
