//! raft-rs logs through `slog`; this drain forwards its records to `tracing` (target `raft`), with the
//! record's key-value pairs appended to the message, so the broker keeps one logging system.
//! Below INFO (raft's per-message debug chatter) is dropped before formatting.

use slog::{Drain, Level, OwnedKVList, Record, KV};
use std::fmt::Write;

struct TracingDrain;

/// Collects a record's key-value pairs as ` key=value` text.
struct Pairs(String);

impl slog::Serializer for Pairs {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if !record.level().is_at_least(Level::Info) {
            return Ok(());
        }
        let mut pairs = Pairs(String::new());
        let _ = record.kv().serialize(record, &mut pairs);
        let _ = values.serialize(record, &mut pairs);
        let message = record.msg();
        match record.level() {
            Level::Critical | Level::Error => {
                tracing::error!(target: "raft", "{message}{}", pairs.0)
            }
            Level::Warning => tracing::warn!(target: "raft", "{message}{}", pairs.0),
            _ => tracing::info!(target: "raft", "{message}{}", pairs.0),
        }
        Ok(())
    }
}

/// The logger handed to `RawNode`.
pub fn raft_logger(node_id: u64) -> slog::Logger {
    slog::Logger::root(TracingDrain.fuse(), slog::o!("raft_id" => node_id))
}
