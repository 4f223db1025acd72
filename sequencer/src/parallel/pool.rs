//! The engine's worker threads: one rayon pool per thread count, started on
//! first use and kept for the process's life, so that a block pays neither
//! thread start-up nor the allocator's cost of threads that exit holding
//! memory other threads still free.

use parking_lot::Mutex;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, OnceLock};

/// The pools started so far, by thread count.
type Pools = Mutex<Vec<(usize, Arc<ThreadPool>)>>;

/// The pool with `threads` threads (at least one).
pub(crate) fn pool(threads: usize) -> Arc<ThreadPool> {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    let threads = threads.max(1);
    let mut pools = POOLS.get_or_init(Default::default).lock();
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return pool.clone();
    }
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("parallel-exec-{i}"))
            .build()
            .expect("the OS can start the engine's threads"),
    );
    pools.push((threads, pool.clone()));
    pool
}
