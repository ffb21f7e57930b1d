/* Criterion: the is_empty / is_full snapshots and same_channel, every flavor.
 * is_empty follows len; is_full holds exactly when the ring is at capacity, never on
 * an unbounded channel, always on a rendezvous one (which is also always empty);
 * invalid handles give is_empty true and is_full false. same_channel is true for a
 * handle and its clones, false across channels and for NULL. */
#include <criterion/criterion.h>
#include <weft/chan.h>

static const size_t snap_caps[] = {WEFT_UNBOUNDED, 1, 16, 0};

Test(snapshot, is_empty_is_full)
{
    for (size_t k = 0; k < sizeof snap_caps / sizeof snap_caps[0]; k++) {
        size_t cap = snap_caps[k];
        weft_sender *tx;
        weft_receiver *rx;
        cr_assert_eq(weft_chan_open(sizeof(int), cap, NULL, &tx, &rx), 0);
        cr_assert(weft_sender_is_empty(tx) && weft_receiver_is_empty(rx), "cap %zu", cap);
        cr_assert_eq(weft_sender_is_full(tx), cap == 0, "cap %zu", cap);
        cr_assert_eq(weft_receiver_is_full(rx), cap == 0, "cap %zu", cap);
        if (cap != 0) {
            size_t n = cap == WEFT_UNBOUNDED ? 40 : cap;
            for (size_t i = 0; i < n; i++) {
                int v = (int)i;
                cr_assert_eq(weft_chan_try_send(tx, &v), 0);
                cr_assert(!weft_sender_is_empty(tx) && !weft_receiver_is_empty(rx));
                bool full = cap != WEFT_UNBOUNDED && i + 1 == cap;
                cr_assert_eq(weft_sender_is_full(tx), full, "cap %zu after %zu", cap, i + 1);
                cr_assert_eq(weft_receiver_is_full(rx), full, "cap %zu after %zu", cap, i + 1);
            }
            for (size_t i = 0; i < n; i++) {
                int v;
                cr_assert_eq(weft_chan_try_recv(rx, &v), 0);
                cr_assert(!weft_sender_is_full(tx));
            }
            cr_assert(weft_sender_is_empty(tx) && weft_receiver_is_empty(rx));
        }
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert_eq(weft_receiver_close(rx), 0);
    }
    cr_assert(weft_sender_is_empty(NULL) && weft_receiver_is_empty(NULL));
    cr_assert(!weft_sender_is_full(NULL) && !weft_receiver_is_full(NULL));
}

Test(snapshot, same_channel)
{
    for (size_t k = 0; k < sizeof snap_caps / sizeof snap_caps[0]; k++) {
        weft_sender *tx, *tx2, *otx;
        weft_receiver *rx, *rx2, *orx;
        cr_assert_eq(weft_chan_open(sizeof(int), snap_caps[k], NULL, &tx, &rx), 0);
        cr_assert_eq(weft_chan_open(sizeof(int), snap_caps[k], NULL, &otx, &orx), 0);
        cr_assert_eq(weft_sender_clone(tx, &tx2), 0);
        cr_assert_eq(weft_receiver_clone(rx, &rx2), 0);
        cr_assert(weft_sender_same_channel(tx, tx) && weft_sender_same_channel(tx, tx2));
        cr_assert(weft_receiver_same_channel(rx, rx) && weft_receiver_same_channel(rx2, rx));
        cr_assert(!weft_sender_same_channel(tx, otx) && !weft_receiver_same_channel(rx, orx));
        cr_assert(!weft_sender_same_channel(tx, NULL) && !weft_sender_same_channel(NULL, tx));
        cr_assert(!weft_receiver_same_channel(NULL, NULL));
        cr_assert_eq(weft_sender_close(tx2), 0);
        cr_assert_eq(weft_receiver_close(rx2), 0);
        cr_assert_eq(weft_sender_close(tx), 0);
        cr_assert_eq(weft_receiver_close(rx), 0);
        cr_assert_eq(weft_sender_close(otx), 0);
        cr_assert_eq(weft_receiver_close(orx), 0);
    }
}
