//! Per-query limits: a memory budget carved out of the server's shared pool, and a deadline
//! plus cancellation for the stream of result batches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};

/// A memory pool for one query: every reservation goes to the shared server pool, and the
/// query fails with a resources-exhausted error (which spilling operators answer by spilling)
/// once its own total would pass `limit`. Other queries are unaffected.
#[derive(Debug)]
pub struct QueryMemoryPool {
    shared: Arc<dyn MemoryPool>,
    limit: usize,
    used: AtomicUsize,
}

impl QueryMemoryPool {
    #[must_use]
    pub fn new(shared: Arc<dyn MemoryPool>, limit: usize) -> Self {
        Self { shared, limit, used: AtomicUsize::new(0) }
    }
}

impl std::fmt::Display for QueryMemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query pool ({} of {} bytes) within {}", self.reserved(), self.limit, self.shared.name())
    }
}

impl MemoryPool for QueryMemoryPool {
    fn name(&self) -> &str {
        "query"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.shared.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.shared.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.shared.grow(reservation, additional);
        self.used.fetch_add(additional, Ordering::Relaxed);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.shared.shrink(reservation, shrink);
        self.used.fetch_sub(shrink, Ordering::Relaxed);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let granted = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(additional).filter(|total| *total <= self.limit)
            })
            .is_ok();
        if !granted {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "query memory limit of {} bytes reached ({} in use, {} more requested by {})",
                self.limit,
                self.used.load(Ordering::Relaxed),
                additional,
                reservation.consumer().name()
            )));
        }
        if let Err(e) = self.shared.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::AcqRel);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    #[test]
    fn query_budget_within_shared_pool() {
        let shared: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let query: Arc<dyn MemoryPool> = Arc::new(QueryMemoryPool::new(Arc::clone(&shared), 600));
        let a = MemoryConsumer::new("a").register(&query);
        a.try_grow(500).expect("within budget");
        let err = a.try_grow(200).expect_err("over the query budget");
        assert!(err.to_string().contains("query memory limit of 600 bytes"), "{err}");
        assert_eq!(shared.reserved(), 500);
        let other: Arc<dyn MemoryPool> = Arc::new(QueryMemoryPool::new(Arc::clone(&shared), 600));
        let b = MemoryConsumer::new("b").register(&other);
        assert!(b.try_grow(600).is_err(), "the shared pool has only 500 left");
        assert_eq!(other.reserved(), 0, "a refused grow is rolled back");
        b.try_grow(400).expect("fits");
        a.shrink(500);
        drop(a);
        drop(b);
        assert_eq!(shared.reserved(), 0);
        assert_eq!(query.reserved(), 0);
    }
}
