//! One shard's current metadata snapshot: read by everything on the shard, replaced whole when the
//! controller publishes a change.

use super::metadata::MetadataSnapshot;
use std::cell::RefCell;
use std::sync::Arc;

#[derive(Default)]
pub struct MetadataView {
    current: RefCell<Arc<MetadataSnapshot>>,
}

impl MetadataView {
    pub fn new(snapshot: Arc<MetadataSnapshot>) -> MetadataView {
        MetadataView {
            current: RefCell::new(snapshot),
        }
    }

    pub fn get(&self) -> Arc<MetadataSnapshot> {
        self.current.borrow().clone()
    }

    pub fn set(&self, snapshot: Arc<MetadataSnapshot>) {
        *self.current.borrow_mut() = snapshot;
    }
}
