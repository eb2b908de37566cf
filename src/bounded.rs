//! Bounds on a process's own resources (password hashing, photo decoding): how many
//! requests wait for them. Per process by design: the resources are the process's own.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One request counted among those waiting for a bounded resource while it lives.
pub(crate) struct Waiting<'a> {
    count: &'a AtomicUsize,
    /// How many were waiting before this one.
    pub ahead: usize,
}

impl<'a> Waiting<'a> {
    pub(crate) fn enter(count: &'a AtomicUsize) -> Waiting<'a> {
        let ahead = count.fetch_add(1, Ordering::SeqCst);
        Waiting { count, ahead }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}
