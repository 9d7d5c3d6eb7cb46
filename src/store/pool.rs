//! A small bounded connection pool shared by the SQL stores: a connection
//! is opened when none is idle and fewer than the maximum exist, returned
//! after each call, and dropped when it broke.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Opens one connection.
type Connect<C, E> = Box<dyn Fn() -> Result<C, E> + Send + Sync>;

pub(crate) struct Pool<C, E> {
    connect: Connect<C, E>,
    broken: fn(&C) -> bool,
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
    /// is closed instead of reused.
    pub(crate) fn new(
        max: usize,
        wait: Duration,
        broken: fn(&C) -> bool,
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
            wait,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // The state is two fields updated together under the lock; a panic
        // elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on a connection of the pool.
    pub(crate) fn run<R>(&self, f: impl FnOnce(&mut C) -> Result<R, E>) -> Result<R, PoolError<E>> {
        let mut pooled = self.get()?;
        let result = match pooled.conn.as_mut() {
            Some(conn) => f(conn),
            None => return Err(PoolError::TimedOut),
        };
        if pooled.conn.as_ref().is_some_and(self.broken) {
            pooled.discard();
        }
        result.map_err(PoolError::Database)
    }

    /// An idle connection, a new one, or one returned within the wait.
    fn get(&self) -> Result<Pooled<'_, C, E>, PoolError<E>> {
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
                return match (self.connect)() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(PoolError::Database(e))
                    }
                };
            }
            let (next, timeout) = self
                .returned
                .wait_timeout(state, self.wait)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(PoolError::TimedOut);
            }
        }
    }
}

/// A checked-out connection; goes back to the pool when dropped (also if
/// the call panicked, so the count of open connections stays true).
struct Pooled<'a, C, E> {
    pool: &'a Pool<C, E>,
    conn: Option<C>,
}

impl<C, E> Pooled<'_, C, E> {
    /// Closes the connection instead of returning it (after an error that
    /// may have left it unusable).
    fn discard(mut self) {
        if self.conn.take().is_some() {
            self.pool.lock().open -= 1;
            self.pool.returned.notify_one();
        }
    }
}

impl<C, E> Drop for Pooled<'_, C, E> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().idle.push(conn);
            self.pool.returned.notify_one();
        }
    }
}
