/* place.c: the size of a rank's pool. Several ranks on one node each start a global
 * pool; left to its defaults, each would take every CPU the process may use and pin
 * its workers from the first core up, so two ranks would pile onto the same cores.
 *
 * Rule: the environment (WEFT_NUM_THREADS, WEFT_PIN) wins when set. Otherwise, when
 * the launcher bound each rank to its own CPUs (the process may use fewer CPUs than
 * the node has online), the defaults are right: the pool takes the rank's CPUs. When
 * it bound none and k ranks share the node, each rank takes 1/k of the CPUs (at
 * least one thread) unpinned: the ranks do not know each other's places, so pinning
 * could only collide. Nothing is done when the global pool has started already. */
#include "dist_internal.h"

#include <weft/runtime.h>

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

int weft__dist_size_pool(MPI_Comm comm)
{
    MPI_Comm node;
    int rc = weft__dist_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    if (rc != 0)
        return rc;
    int local = 1;
    rc = weft__dist_mpi(MPI_Comm_size(node, &local));
    MPI_Comm_free(&node);
    if (rc != 0 || local <= 1)
        return rc;
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof set, &set) != 0 || online <= 0)
        return 0;
    int allowed = CPU_COUNT(&set);
    if (allowed < online)
        return 0; /* bound by the launcher: the pool's defaults fit the rank's CPUs */
    weft_pool_config cfg = WEFT_POOL_CONFIG_INIT;
    if (!getenv("WEFT_NUM_THREADS"))
        cfg.num_threads = allowed / local > 1 ? (unsigned)(allowed / local) : 1u;
    if (!getenv("WEFT_PIN"))
        cfg.pin = WEFT_PIN_NONE;
    if (cfg.num_threads == 0 && cfg.pin == WEFT_PIN_DEFAULT)
        return 0;
    rc = weft_pool_global_init(&cfg);
    return rc == -EBUSY ? 0 : rc; /* started already: left as it is */
}
