/* test_global_init.c: Criterion suite `global_init` — weft_pool_global_init, the
 * global pool configured from code before its first use: the configuration is
 * applied, the environment fills what it leaves at 0, -EBUSY once the pool exists
 * (an implicit start or an earlier init), -EINVAL for a configuration
 * weft_pool_create refuses (starting nothing), exactly one pool when an init races a
 * first use or another init, and a forked child free to init its own.
 *
 * The global pool is process-wide and never destroyed: each Criterion test runs in a
 * process of its own, so each starts with none; the race and fork tests fork a child
 * per round for a fresh one. Every test sets the environment it depends on. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/runtime.h>

static void clear_env(void)
{
    unsetenv("WEFT_NUM_THREADS");
    unsetenv("WEFT_PIN");
    unsetenv("WEFT_WAIT_POLICY");
}

static weft_pool_config config(unsigned num_threads)
{
    weft_pool_config c = WEFT_POOL_CONFIG_INIT;
    c.num_threads = num_threads;
    return c;
}

static void copy_name(void *arg) { strcpy(arg, weft_thread_name()); }

Test(global_init, configures_the_global_pool)
{
    clear_env();
    weft_pool_config c = config(3);
    c.name_prefix = "init";
    c.wait = WEFT_WAIT_PASSIVE;
    cr_assert_eq(weft_pool_global_init(&c), 0);
    cr_assert_eq(weft_pool_num_threads(NULL), 3);
    weft_pool *g;
    cr_assert_eq(weft_pool_global(&g), 0);
    cr_assert_eq(weft_pool_num_threads(g), 3);
    char name[WEFT_THREAD_NAME_MAX + 1] = "";
    cr_assert_eq(weft_pool_run(NULL, copy_name, name), 0);
    cr_assert_eq(strncmp(name, "init-", 5), 0, "a global worker is named \"%s\"", name);
}

Test(global_init, null_config_takes_the_environment)
{
    clear_env();
    setenv("WEFT_NUM_THREADS", "3", 1);
    cr_assert_eq(weft_pool_global_init(NULL), 0);
    cr_assert_eq(weft_pool_num_threads(NULL), 3);
}

Test(global_init, environment_fills_what_the_config_leaves_at_zero)
{
    clear_env();
    setenv("WEFT_NUM_THREADS", "3", 1);
    weft_pool_config c = config(0);
    c.wait = WEFT_WAIT_ACTIVE;
    cr_assert_eq(weft_pool_global_init(&c), 0);
    cr_assert_eq(weft_pool_num_threads(NULL), 3, "num_threads 0: WEFT_NUM_THREADS");
}

Test(global_init, config_wins_over_the_environment)
{
    clear_env();
    setenv("WEFT_NUM_THREADS", "3", 1);
    weft_pool_config c = config(2);
    cr_assert_eq(weft_pool_global_init(&c), 0);
    cr_assert_eq(weft_pool_num_threads(NULL), 2);
}

Test(global_init, busy_after_an_implicit_start)
{
    clear_env();
    setenv("WEFT_NUM_THREADS", "2", 1);
    cr_assert_eq(weft_pool_num_threads(NULL), 2); /* starts the global pool */
    weft_pool_config c = config(3);
    cr_assert_eq(weft_pool_global_init(&c), -EBUSY);
    cr_assert_eq(weft_pool_global_init(NULL), -EBUSY);
    cr_assert_eq(weft_pool_num_threads(NULL), 2, "the pool is left as it was");
}

static void nothing(void *arg) { (void)arg; }

Test(global_init, busy_after_a_parallel_call)
{
    clear_env();
    setenv("WEFT_NUM_THREADS", "2", 1);
    cr_assert_eq(weft_join(nothing, NULL, nothing, NULL), 0); /* from main: the global pool */
    weft_pool_config c = config(3);
    cr_assert_eq(weft_pool_global_init(&c), -EBUSY);
    cr_assert_eq(weft_pool_num_threads(NULL), 2);
}

Test(global_init, busy_on_a_second_init)
{
    clear_env();
    weft_pool_config c = config(2), d = config(3);
    cr_assert_eq(weft_pool_global_init(&c), 0);
    cr_assert_eq(weft_pool_global_init(&d), -EBUSY);
    cr_assert_eq(weft_pool_global_init(&c), -EBUSY, "even with the same configuration");
    cr_assert_eq(weft_pool_num_threads(NULL), 2);
}

Test(global_init, bad_config_is_einval_and_starts_nothing)
{
    clear_env();
    weft_pool_config bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = config(2);
    bad[0].num_threads = WEFT_POOL_MAX_THREADS + 1;
    bad[1].pin = (weft_pin_policy)(WEFT_PIN_PU + 1);
    bad[2].wait = (weft_wait_policy)(WEFT_WAIT_ACTIVE + 1);
    bad[3].stack_size = 1;
    bad[4].stack_size = (size_t)PTHREAD_STACK_MIN - 1;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(weft_pool_global_init(&bad[i]), -EINVAL, "bad config %d", i);
        weft_pool *p;
        cr_assert_eq(weft_pool_create(&bad[i], &p), -EINVAL, "weft_pool_create agrees on %d", i);
    }
    weft_pool_config c = config(3);
    cr_assert_eq(weft_pool_global_init(&c), 0, "no pool was started by the bad calls");
    cr_assert_eq(weft_pool_global_init(&bad[0]), -EINVAL, "checked before -EBUSY");
    cr_assert_eq(weft_pool_num_threads(NULL), 3);
}

/* ---------------------------------------------------------------- the race */

typedef struct race {
    pthread_barrier_t go;
    bool b_inits; /* b calls global_init (4 threads); else b uses the pool */
    int a_rc, b_rc;
} race;

static void *racer_a(void *arg)
{
    race *r = arg;
    weft_pool_config c = config(3);
    pthread_barrier_wait(&r->go);
    r->a_rc = weft_pool_global_init(&c);
    return NULL;
}

static void *racer_b(void *arg)
{
    race *r = arg;
    weft_pool_config c = config(4);
    pthread_barrier_wait(&r->go);
    r->b_rc = r->b_inits ? weft_pool_global_init(&c) : weft_pool_num_threads(NULL);
    return NULL;
}

/* In a fresh child: a (init with 3 threads) against b (init with 4, or a first use
 * that would start 2 from WEFT_NUM_THREADS). Exit status: 0 if exactly one pool
 * with the winner's size, 1 if a won, 2 if b won; 10 and up for a failure. */
static int race_child(bool b_inits)
{
    setenv("WEFT_NUM_THREADS", "2", 1);
    race r = {.b_inits = b_inits};
    pthread_t a, b;
    if (pthread_barrier_init(&r.go, NULL, 2) != 0 || pthread_create(&a, NULL, racer_a, &r) != 0 ||
        pthread_create(&b, NULL, racer_b, &r) != 0)
        return 10;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int n = weft_pool_num_threads(NULL);
    if (b_inits) {
        if (r.a_rc == 0 && r.b_rc == -EBUSY && n == 3)
            return 1;
        if (r.a_rc == -EBUSY && r.b_rc == 0 && n == 4)
            return 2;
        return 11;
    }
    if (r.a_rc == 0 && r.b_rc == 3 && n == 3)
        return 1;
    if (r.a_rc == -EBUSY && r.b_rc == 2 && n == 2)
        return 2;
    return 12;
}

static void race_rounds(bool b_inits)
{
    clear_env();
    enum { ROUNDS = 40 };
    int wins[3] = {0, 0, 0};
    for (int i = 0; i < ROUNDS; i++) {
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
            _exit(race_child(b_inits));
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) >= 1 && WEXITSTATUS(status) <= 2,
                  "round %d: status %#x (exit 11/12: not exactly one pool, or the loser's size)", i, status);
        wins[WEXITSTATUS(status)]++;
    }
    cr_log_info("global_init race (%s): a won %d, b won %d of %d", b_inits ? "init vs init" : "init vs first use",
                wins[1], wins[2], ROUNDS);
}

Test(global_init, racing_another_init_one_wins, .timeout = 120)
{
    race_rounds(true);
}

Test(global_init, racing_a_first_use_one_pool, .timeout = 120)
{
    race_rounds(false);
}

/* ---------------------------------------------------------------- fork */

/* The child of a process whose global pool exists starts with none (fork.c): it may
 * init its own, once. */
static int fork_child(void)
{
    weft_pool_config c = config(1), d = config(3);
    if (weft_pool_global_init(&c) != 0)
        return 1;
    if (weft_pool_global_init(&d) != -EBUSY)
        return 2;
    if (weft_pool_num_threads(NULL) != 1)
        return 3;
    return weft_join(nothing, NULL, nothing, NULL) == 0 ? 0 : 4;
}

Test(global_init, a_forked_child_may_init_again)
{
    clear_env();
    weft_pool_config c = config(2);
    cr_assert_eq(weft_pool_global_init(&c), 0);
    cr_assert_eq(weft_join(nothing, NULL, nothing, NULL), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(fork_child());
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
    cr_assert_eq(weft_pool_num_threads(NULL), 2, "the parent's pool is its own");
    cr_assert_eq(weft_pool_global_init(&c), -EBUSY);
}
