/* Criterion suite for weft_arc: the semantics and the errors of every call
 * (concurrent clone/drop is in stress_arc.c). */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdint.h>
#include <weft/sync.h>

struct arc_record {
    int calls;
    void *ptr;
};

/* The data of the test arcs starts with a pointer to the record the destructor fills
 * in (no global state). */
static void arc_record_destroy(void *data)
{
    struct arc_record *r = *(struct arc_record **)data;
    r->calls++;
    r->ptr = data;
}

Test(arc, new_errors)
{
    weft_arc *a = (weft_arc *)&a;
    cr_assert_eq(weft_arc_new(16, NULL, NULL), -EINVAL);
    cr_assert_eq(weft_arc_new(SIZE_MAX, NULL, &a), -EINVAL);
    cr_assert_eq(weft_arc_new(SIZE_MAX - 8, NULL, &a), -EINVAL);
    cr_assert_eq(weft_arc_new((size_t)PTRDIFF_MAX, NULL, &a), -EINVAL);
    cr_assert_eq(a, (weft_arc *)&a, "out untouched on error");
}

Test(arc, null_arguments)
{
    cr_assert_null(weft_arc_clone(NULL));
    cr_assert_eq(weft_arc_drop(NULL), -EINVAL);
    cr_assert_null(weft_arc_get(NULL));
    cr_assert_eq(weft_arc_count(NULL), 0);
}

Test(arc, data_is_zeroed_and_aligned)
{
    size_t sizes[] = {0, 1, 3, 17, 100, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        weft_arc *a = NULL;
        cr_assert_eq(weft_arc_new(sizes[i], NULL, &a), 0);
        cr_assert_not_null(a);
        unsigned char *d = weft_arc_get(a);
        cr_assert_not_null(d);
        cr_assert_eq((uintptr_t)d % alignof(max_align_t), 0, "size %zu", sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            cr_assert_eq(d[j], 0, "size %zu byte %zu", sizes[i], j);
        if (sizes[i])
            d[sizes[i] - 1] = 1; /* writable to the end (ASan checks the bound) */
        cr_assert_eq(weft_arc_drop(a), 1);
    }
}

Test(arc, counts_and_destroy_once)
{
    struct arc_record rec = {0, NULL};
    weft_arc *a = NULL;
    cr_assert_eq(weft_arc_new(sizeof(struct arc_record *), arc_record_destroy, &a), 0);
    void *data = weft_arc_get(a);
    *(struct arc_record **)data = &rec;
    cr_assert_eq(weft_arc_count(a), 1);
    cr_assert_eq(weft_arc_clone(a), a);
    cr_assert_eq(weft_arc_count(a), 2);
    weft_arc *b = weft_arc_clone(a);
    cr_assert_eq(b, a);
    cr_assert_eq(weft_arc_get(b), data);
    cr_assert_eq(weft_arc_count(a), 3);
    cr_assert_eq(weft_arc_drop(a), 0);
    cr_assert_eq(weft_arc_count(a), 2);
    cr_assert_eq(weft_arc_drop(b), 0);
    cr_assert_eq(weft_arc_count(a), 1);
    cr_assert_eq(rec.calls, 0);
    cr_assert_eq(weft_arc_drop(a), 1);
    cr_assert_eq(rec.calls, 1);
    cr_assert_eq(rec.ptr, data, "destroy gets the data pointer");
}

/* A zero-sized block has no room for a record pointer: this one test records through
 * a static (each Criterion test runs in its own process). */
static void *arc_zero_seen;
static int arc_zero_calls;
static void arc_zero_destroy(void *data)
{
    arc_zero_seen = data;
    arc_zero_calls++;
}

Test(arc, size_zero_with_destroy)
{
    weft_arc *a = NULL;
    cr_assert_eq(weft_arc_new(0, arc_zero_destroy, &a), 0);
    cr_assert_eq(weft_arc_count(a), 1);
    void *data = weft_arc_get(a);
    cr_assert_not_null(data);
    cr_assert_eq(weft_arc_drop(weft_arc_clone(a)), 0);
    cr_assert_eq(arc_zero_calls, 0);
    cr_assert_eq(weft_arc_drop(a), 1);
    cr_assert_eq(arc_zero_calls, 1);
    cr_assert_eq(arc_zero_seen, data);
}
