//! Connection slots. At most `max_connections` TLS connections are open at once; at the limit,
//! the connection that has been idle longest (handshaking, waiting for a request head, or kept
//! alive between requests) is told to close, so that a new client gets its slot. Slow-loris
//! clients and piles of idle connections therefore cannot starve the API server: only
//! connections with a request being answered keep their slot unconditionally, and those are
//! bounded by the body and evaluation timeouts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The slots of one server.
#[derive(Debug)]
pub struct Slots {
    permits: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<Slot>>>,
    next: AtomicU64,
}

/// What the server knows of one open connection.
#[derive(Debug)]
pub struct Slot {
    /// Since when the connection has had no request in progress (`None`: answering one).
    idle_since: Mutex<Option<Instant>>,
    close: Notify,
}

/// What [`Slots::evict_idlest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// A connection was told to close.
    Evicted,
    /// The connection idle longest may be evicted after this long.
    NotYet(Duration),
    /// Every open connection is answering a request.
    Nobody,
}

/// A slot held by a connection; given back when dropped.
#[derive(Debug)]
pub struct Held {
    slots: Arc<Slots>,
    id: u64,
    slot: Arc<Slot>,
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            permits: Arc::new(Semaphore::new(max.max(1))),
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// A free slot, if there is one.
    pub fn try_take(self: &Arc<Self>) -> Option<Held> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        Some(self.hold(permit))
    }

    /// Waits for a free slot (`None` once the slots are closed).
    pub async fn take(self: &Arc<Self>) -> Option<Held> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok()?;
        Some(self.hold(permit))
    }

    fn hold(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Held {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            idle_since: Mutex::new(Some(Instant::now())),
            close: Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&slot));
        }
        Held {
            slots: Arc::clone(self),
            id,
            slot,
            _permit: permit,
        }
    }

    /// Tells the connection idle longest to close, if it has been idle at least `min_idle` (so
    /// that a client gets the time to send its request after connecting, and hostile
    /// reconnects cannot evict one another, and everyone else, in a storm). The slot comes
    /// free when that connection has closed.
    pub fn evict_idlest(&self, min_idle: Duration) -> Eviction {
        let Ok(open) = self.open.lock() else {
            return Eviction::Nobody;
        };
        let idlest = open
            .values()
            .filter_map(|slot| {
                let since = slot.idle_since.lock().ok().and_then(|s| *s)?;
                Some((since, slot))
            })
            .min_by_key(|(since, _)| *since);
        match idlest {
            Some((since, slot)) => {
                let idle = since.elapsed();
                if idle >= min_idle {
                    slot.close.notify_one();
                    Eviction::Evicted
                } else {
                    Eviction::NotYet(min_idle - idle)
                }
            }
            None => Eviction::Nobody,
        }
    }

    /// Tells every open connection to close once its request (if any) is answered.
    pub fn close_all(&self) {
        if let Ok(open) = self.open.lock() {
            for slot in open.values() {
                slot.close.notify_one();
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }
}

impl Held {
    pub fn slot(&self) -> Arc<Slot> {
        Arc::clone(&self.slot)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            open.remove(&self.id);
        }
    }
}

impl Slot {
    /// A request is being answered: the connection keeps its slot.
    pub fn busy(&self) {
        if let Ok(mut since) = self.idle_since.lock() {
            *since = None;
        }
    }

    /// Whether a request is being answered.
    pub fn is_busy(&self) -> bool {
        self.idle_since.lock().map(|s| s.is_none()).unwrap_or(false)
    }

    /// The request is answered: the connection is idle from now.
    pub fn idle(&self) {
        if let Ok(mut since) = self.idle_since.lock() {
            *since = Some(Instant::now());
        }
    }

    /// Resolves when the connection is told to close (evicted, or the server stops). A
    /// request for it made before this is called is not lost.
    pub async fn closing(&self) {
        self.close.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_idlest_connection_is_evicted_and_busy_ones_never_are() {
        let slots = Slots::new(3);
        let a = slots.try_take().expect("slot");
        tokio::time::sleep(Duration::from_millis(5)).await;
        let b = slots.try_take().expect("slot");
        let c = slots.try_take().expect("slot");
        assert!(slots.try_take().is_none(), "only three slots");
        assert_eq!(slots.open(), 3);
        // a is the oldest idle connection, but it is answering a request.
        a.slot().busy();
        assert!(matches!(
            slots.evict_idlest(Duration::from_secs(60)),
            Eviction::NotYet(d) if d > Duration::from_secs(59)
        ));
        assert_eq!(slots.evict_idlest(Duration::ZERO), Eviction::Evicted);
        let told = |h: &Held| {
            let slot = h.slot();
            async move {
                tokio::time::timeout(Duration::from_millis(20), slot.closing())
                    .await
                    .is_ok()
            }
        };
        assert!(told(&b).await, "b was idle longest");
        assert!(!told(&c).await);
        assert!(!told(&a).await);
        drop(b);
        assert_eq!(slots.open(), 2);
        assert!(slots.try_take().is_some(), "b's slot came free");
        c.slot().busy();
        assert_eq!(
            slots.evict_idlest(Duration::ZERO),
            Eviction::Nobody,
            "everyone is answering a request"
        );
        slots.close_all();
        assert!(told(&a).await && told(&c).await);
    }
}
