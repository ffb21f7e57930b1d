/* test_pipeline.c: Criterion suite `pipeline` — weft_pipeline_run: argument errors;
 * 10^6 items through stage mixes (in order, out of order, parallel), every item once,
 * in-order stages in production order, never more than max_tokens alive; one token;
 * an early stop asked by the last stage; a failing middle stage and a failing first
 * stage ending the pipeline with every item finished or cleaned up; a pipeline run
 * from a worker. The checks themselves are in pipeline_testlib.h; races and TSan:
 * stress_pipeline.c. */
#include <criterion/criterion.h>
#include <weft/par.h>
#include <weft/runtime.h>
#include "pipeline_testlib.h"

#define IN WEFT_PIPELINE_SERIAL_IN_ORDER
#define OUT WEFT_PIPELINE_SERIAL_OUT_OF_ORDER
#define PAR WEFT_PIPELINE_PARALLEL

static pt t; /* large enough to keep off the stack */

static void check_full_run(const weft_pipeline_kind *kinds, size_t nkinds, uint64_t n, size_t tokens)
{
    pt_init(&t, n, kinds, nkinds);
    cr_assert_eq(pt_run(&t, tokens), 0);
    cr_assert(pt_balanced(&t, tokens), "errors %d alive %llu max_alive %llu", atomic_load(&t.errors),
              (unsigned long long)atomic_load(&t.alive), (unsigned long long)atomic_load(&t.max_alive));
    cr_assert_eq(t.made, n);
    cr_assert_eq(atomic_load(&t.finished), n);
    cr_assert_eq(atomic_load(&t.cleaned), 0);
    cr_assert_eq(atomic_load(&t.seq_sum), n * (n - 1) / 2, "every item exactly once");
}

Test(pipeline, bad_arguments)
{
    weft_pipeline_kind k[1] = {PAR};
    pt_init(&t, 10, k, 1);
    cr_assert_eq(weft_pipeline_run(NULL, 2, 4, &t), -EINVAL);
    cr_assert_eq(weft_pipeline_run(t.stages, 0, 4, &t), -EINVAL);
    cr_assert_eq(weft_pipeline_run(t.stages, 2, 0, &t), -EINVAL);
    t.stages[1].kind = (weft_pipeline_kind)0;
    cr_assert_eq(weft_pipeline_run(t.stages, 2, 4, &t), -EINVAL);
    t.stages[1].kind = PAR;
    t.stages[1].fn = NULL;
    cr_assert_eq(weft_pipeline_run(t.stages, 2, 4, &t), -EINVAL);
    cr_assert_eq(t.made, 0, "nothing ran");
    cr_assert_eq(weft_pipeline_run(t.stages, 2, SIZE_MAX, &t), -EINVAL, "fn NULL is checked first");
    t.stages[1].fn = pt_stage_1;
    cr_assert_eq(weft_pipeline_run(t.stages, 2, SIZE_MAX / 2, &t), -ENOMEM);
    cr_assert_eq(t.made, 0, "nothing ran");
}

Test(pipeline, million_in_par_in)
{
    weft_pipeline_kind k[] = {IN, PAR, IN};
    check_full_run(k, 3, 1000000, 16);
}

Test(pipeline, mixes)
{
    weft_pipeline_kind a[] = {PAR, OUT, PAR, IN};
    check_full_run(a, 4, 100000, 8);
    weft_pipeline_kind b[] = {OUT, IN, OUT};
    check_full_run(b, 3, 100000, 5);
    weft_pipeline_kind c[] = {PAR, PAR};
    check_full_run(c, 2, 100000, 64);
}

Test(pipeline, one_token_runs_one_item_at_a_time)
{
    weft_pipeline_kind k[] = {PAR, OUT, PAR};
    check_full_run(k, 3, 10000, 1);
    cr_assert_eq(atomic_load(&t.max_alive), 1);
}

/* The last stage asks the first to stop: the items already made still finish. */
Test(pipeline, early_stop)
{
    weft_pipeline_kind k[] = {PAR, IN};
    pt_init(&t, 1000000, k, 2);
    t.stop_signal_at = 1000;
    cr_assert_eq(pt_run(&t, 8), 0);
    cr_assert(pt_balanced(&t, 8));
    cr_assert_geq(t.made, 1001);
    cr_assert_lt(t.made, 1000 + 8 + 2, "stops within max_tokens items: made %llu", (unsigned long long)t.made);
    cr_assert_eq(atomic_load(&t.finished), t.made);
    cr_assert_eq(atomic_load(&t.cleaned), 0);
}

/* The middle stage fails on one item: the call returns its status, and every other
 * item made is finished or given to a cleanup (ASan/LSan find a leak). */
Test(pipeline, error_in_the_middle_stage)
{
    weft_pipeline_kind kinds[3][3] = {{IN, PAR, IN}, {PAR, IN, OUT}, {OUT, OUT, IN}};
    for (int m = 0; m < 3; m++) {
        pt_init(&t, 1000000, kinds[m], 3);
        t.fail_at = 5000;
        t.fail_stage = 2;
        t.fail_status = 42;
        cr_assert_eq(pt_run(&t, 16), 42);
        cr_assert(pt_balanced(&t, 16), "mix %d: errors %d alive %llu", m, atomic_load(&t.errors),
                  (unsigned long long)atomic_load(&t.alive));
        cr_assert_eq(atomic_load(&t.failed_items), 1);
        cr_assert_lt(t.made, 5000 + 16 + 2, "production stopped");
    }
}

/* The first stage fails making item 301: no item is made after it, and the items
 * still in flight then (up to max_tokens - 1 of them) are cleaned up at the stage
 * they would have entered next, as for any stage's failure; the others finished. */
Test(pipeline, error_in_the_first_stage)
{
    weft_pipeline_kind k[] = {IN, PAR, IN};
    pt_init(&t, 1000000, k, 3);
    t.fail_at = 300;
    t.fail_stage = 0;
    t.fail_status = 9;
    cr_assert_eq(pt_run(&t, 4), 9);
    cr_assert(pt_balanced(&t, 4));
    cr_assert_eq(t.made, 300);
    cr_assert_eq(atomic_load(&t.finished) + atomic_load(&t.cleaned), 300,
                 "every item made before the failure is finished or cleaned up");
    cr_assert_geq(atomic_load(&t.finished), 300 - 3, "only the items in flight are cleaned up");
}

static int count_to_100(void *ctx, void **item)
{
    uintptr_t *n = ctx;
    if (*n == 100)
        return 0;
    *item = (void *)++*n;
    return 0;
}

Test(pipeline, first_stage_alone)
{
    uintptr_t n = 0;
    weft_pipeline_stage s = {PAR, count_to_100, NULL};
    cr_assert_eq(weft_pipeline_run(&s, 1, 3, &n), 0);
    cr_assert_eq(n, 100);
}

static void on_worker(void *arg)
{
    weft_pipeline_kind k[] = {IN, PAR, OUT};
    pt_init(&t, 50000, k, 3);
    *(int *)arg = pt_run(&t, 6);
}

Test(pipeline, from_a_worker)
{
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.pin = WEFT_PIN_NONE;
    weft_pool *p;
    cr_assert_eq(weft_pool_create(&cfg, &p), 0);
    int rc = -1;
    cr_assert_eq(weft_pool_run(p, on_worker, &rc), 0);
    cr_assert_eq(rc, 0);
    cr_assert(pt_balanced(&t, 6));
    cr_assert_eq(atomic_load(&t.finished), 50000);
    weft_pool_destroy(p);
}
