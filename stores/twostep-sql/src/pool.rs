//! A small bounded connection pool shared by the SQL stores: a connection
//! is opened when none is idle and fewer than the maximum exist, returned
//! after each call, and dropped when it broke.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Opens one connection.
type Connect<C, E> = Box<dyn Fn() -> Result<C, E> + Send + Sync>;

pub(crate) struct Pool<C, E> {
    connect: Connect<C, E>,
    broken: fn(&C, Option<&E>) -> bool,
    state: Mutex<State<C>>,
    returned: Condvar,
    max: usize,
    wait: Duration,
}

struct State<C> {
    idle: Vec<C>,
    open: usize,
}

/// What a call through the pool can fail with.
pub(crate) enum PoolError<E> {
    /// Opening or using a connection failed.
    Database(E),
    /// `max` connections were in use for the whole wait.
    TimedOut,
}

impl<C, E> Pool<C, E> {
    /// A pool of at most `max` connections opened by `connect`; a call
    /// waits up to `wait` for one; a connection `broken` says is unusable
    /// (from itself and the error of its last call, if any) is closed
    /// instead of reused.
    pub(crate) fn new(
        max: usize,
        wait: Duration,
        broken: fn(&C, Option<&E>) -> bool,
        connect: impl Fn() -> Result<C, E> + Send + Sync + 'static,
    ) -> Self {
        Pool {
            connect: Box::new(connect),
            broken,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
            max: max.max(1),
            // A year is "forever" and keeps `Instant + wait` from overflowing.
            wait: wait.min(Duration::from_secs(365 * 86_400)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // The state is two fields updated together under the lock; a panic
        // elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The idle connections, taken out of the pool (to close them
    /// elsewhere: `PostgresStore` dropped on a runtime thread).
    #[cfg(feature = "postgres")]
    pub(crate) fn drain(&self) -> Vec<C> {
        match self.state.lock() {
            Ok(mut state) => std::mem::take(&mut state.idle),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().idle),
        }
    }

    pub(crate) fn run<R>(&self, f: impl FnOnce(&mut C) -> Result<R, E>) -> Result<R, PoolError<E>> {
        let mut pooled = self.get()?;
        let Some(conn) = pooled.conn.as_mut() else {
            return Err(PoolError::TimedOut);
        };
        let result = f(conn);
        if (self.broken)(conn, result.as_ref().err()) {
            // Dropped without its connection: the slot is freed.
            pooled.conn = None;
        }
        result.map_err(PoolError::Database)
    }

    /// An idle connection, a new one, or one returned before the deadline.
    fn get(&self) -> Result<Pooled<'_, C, E>, PoolError<E>> {
        // Read the clock only if a wait is needed.
        let mut deadline = None;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                // The slot is the guard's from here: freed if connecting
                // fails, or panics.
                let mut slot = Pooled {
                    pool: self,
                    conn: None,
                };
                slot.conn = Some((self.connect)().map_err(PoolError::Database)?);
                return Ok(slot);
            }
            let now = Instant::now();
            let left = deadline
                .get_or_insert(now + self.wait)
                .saturating_duration_since(now);
            if left.is_zero() {
                return Err(PoolError::TimedOut);
            }
            state = self
                .returned
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A checked-out connection, or a slot reserved for one being opened. On
/// drop (also after a panic) the connection goes back to the pool, or
/// without one the slot is freed, so the count of open connections stays
/// true.
struct Pooled<'a, C, E> {
    pool: &'a Pool<C, E>,
    conn: Option<C>,
}

impl<C, E> Drop for Pooled<'_, C, E> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        match self.conn.take() {
            Some(conn) => state.idle.push(conn),
            None => state.open -= 1,
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}
