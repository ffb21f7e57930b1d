/* stress_pipeline: weft_pipeline_run under load, and under ThreadSanitizer, where the
 * items are plain memory handed from stage to stage (a missing order is a reported
 * race). Two outside threads at once each run pipelines of every stage mix on the
 * global pool: full runs, one token, an early stop asked by the last stage, a failing
 * middle stage. Checks (pipeline_testlib.h): every item made is finished or cleaned
 * up exactly once, serial stages are never entered twice at once, in-order stages see
 * production order, never more than max_tokens items alive. */
#include "check.h"
#include "pipeline_testlib.h"

#include <pthread.h>
#include <stdio.h>
#include <weft/par.h>

#define IN WEFT_PIPELINE_SERIAL_IN_ORDER
#define OUT WEFT_PIPELINE_SERIAL_OUT_OF_ORDER
#define PAR WEFT_PIPELINE_PARALLEL

static const weft_pipeline_kind mixes[][3] = {
    {IN, PAR, IN}, {PAR, OUT, IN}, {OUT, IN, PAR}, {PAR, PAR, OUT}, {IN, IN, IN},
};
enum { MIXES = sizeof mixes / sizeof mixes[0] };

static void one(pt *t, int mix, uint64_t n, size_t tokens, int scene)
{
    pt_init(t, n, mixes[mix], 3);
    int want = 0;
    if (scene == 1) {
        t->stop_signal_at = n / 3;
    } else if (scene == 2) {
        t->fail_at = n / 2;
        t->fail_stage = 2;
        t->fail_status = want = 5;
    }
    int rc = pt_run(t, tokens);
    CHECK(rc == want, "mix %d scene %d: status %d", mix, scene, rc);
    CHECK(pt_balanced(t, tokens), "mix %d scene %d tokens %zu: errors %d alive %llu max %llu made %llu", mix,
          scene, tokens, atomic_load(&t->errors), (unsigned long long)atomic_load(&t->alive),
          (unsigned long long)atomic_load(&t->max_alive), (unsigned long long)t->made);
    if (scene == 0)
        CHECK(atomic_load(&t->finished) == n, "mix %d: %llu finished", mix,
              (unsigned long long)atomic_load(&t->finished));
}

static void *runner(void *arg)
{
    pt *t = arg;
    uint64_t n = (uint64_t)stress_iters(40000);
    for (int mix = 0; mix < MIXES; mix++)
        for (int scene = 0; scene < 3; scene++) {
            one(t, mix, n, 8, scene);
            one(t, mix, n / 10 + 1, 1, scene);
        }
    return NULL;
}

int main(void)
{
    static pt t[2];
    pthread_t other;
    CHECK(pthread_create(&other, NULL, runner, &t[1]) == 0, "thread");
    runner(&t[0]);
    CHECK(pthread_join(other, NULL) == 0, "join");
    return 0;
}
