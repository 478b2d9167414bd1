//! The partition logs one shard owns: the table the router looks partitions up in. Opening and closing
//! them as metadata changes is the broker assembly's job (`broker::shard`).

use crate::storage::PartitionLog;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Default)]
pub struct Partitions {
    logs: RefCell<HashMap<(String, i32), Rc<PartitionLog>>>,
}

impl Partitions {
    pub fn get(&self, topic: &str, partition: i32) -> Option<Rc<PartitionLog>> {
        self.logs
            .borrow()
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    pub fn all(&self) -> Vec<Rc<PartitionLog>> {
        self.logs.borrow().values().cloned().collect()
    }

    pub fn contains(&self, topic: &str, partition: i32) -> bool {
        self.get(topic, partition).is_some()
    }

    pub fn insert(&self, log: Rc<PartitionLog>) {
        self.logs
            .borrow_mut()
            .insert((log.topic.clone(), log.partition), log);
    }

    /// Keeps the logs `keep` says yes to and returns the others (to be closed by the caller).
    pub fn remove_unless(&self, keep: impl Fn(&str, i32) -> bool) -> Vec<Rc<PartitionLog>> {
        let mut removed = Vec::new();
        self.logs.borrow_mut().retain(|(topic, partition), log| {
            let kept = keep(topic, *partition);
            if !kept {
                removed.push(log.clone());
            }
            kept
        });
        removed
    }
}
