//! Shard-local wake-ups without locks: a one-shot `Signal`, and `OffsetWatch`, a monotonically advancing
//! offset that tasks can wait on (fetches parked for new data, produces waiting for their write or fsync).
//! Everything here is `!Send`: it lives and dies on one shard.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct SignalState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// A one-shot, clonable flag; awaiting it completes once any clone fires it.
#[derive(Clone, Default)]
pub struct Signal(Rc<SignalState>);

impl Signal {
    pub fn fire(&self) {
        self.0.fired.set(true);
        if let Some(w) = self.0.waker.borrow_mut().take() {
            w.wake();
        }
    }
    pub fn is_fired(&self) -> bool {
        self.0.fired.get()
    }
    /// True when nobody but the watch list holds this signal any more (its waiter went away).
    fn abandoned(&self) -> bool {
        Rc::strong_count(&self.0) == 1
    }
}

impl Future for Signal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.fired.get() {
            return Poll::Ready(());
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// An offset that only moves forward, with waiters for "at least N".
#[derive(Default)]
pub struct OffsetWatch {
    value: Cell<i64>,
    waiters: RefCell<Vec<(i64, Signal)>>,
}

impl OffsetWatch {
    pub fn new(value: i64) -> Self {
        OffsetWatch {
            value: Cell::new(value),
            waiters: RefCell::default(),
        }
    }
    pub fn get(&self) -> i64 {
        self.value.get()
    }
    /// Moves the offset to `value` (never backwards) and fires every waiter it satisfies.
    pub fn advance(&self, value: i64) {
        if value <= self.value.get() {
            return;
        }
        self.value.set(value);
        self.waiters.borrow_mut().retain(|(target, signal)| {
            if *target <= value {
                signal.fire();
                false
            } else {
                !signal.abandoned()
            }
        });
    }
    /// Resets the offset (truncation, deletion); wakes everyone so they re-check.
    pub fn reset(&self, value: i64) {
        self.value.set(value);
        for (_, s) in self.waiters.borrow_mut().drain(..) {
            s.fire();
        }
    }
    /// Fires `signal` once the offset reaches `target` (at once if it already has).
    pub fn notify_at(&self, target: i64, signal: &Signal) {
        if self.value.get() >= target {
            signal.fire();
            return;
        }
        let mut waiters = self.waiters.borrow_mut();
        waiters.retain(|(_, s)| !s.abandoned());
        waiters.push((target, signal.clone()));
    }
    /// Waits until the offset reaches `target`.
    pub async fn wait_for(&self, target: i64) {
        if self.value.get() >= target {
            return;
        }
        let signal = Signal::default();
        self.notify_at(target, &signal);
        signal.await;
    }
}
