//! One shard's TLS server config, reloaded without a restart: when a connection is accepted and a
//! second has passed since the last look, the key and CA files are `stat`ed; if they changed they are
//! read again and new connections get the new certificates (open connections keep theirs). A bad new
//! file is reported once and the previous config stays in use.
//!
//! Checking on accept costs a few `stat`s per second at most and needs no timer; the files are small,
//! so reading them on the shard is fine.

use super::settings::{FilesStamp, TlsSettings};
use rustls::ServerConfig;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub struct Acceptor {
    pub settings: Arc<TlsSettings>,
    shard: usize,
    current: RefCell<Arc<ServerConfig>>,
    stamp: RefCell<FilesStamp>,
    next_check: Cell<Instant>,
    /// Cleared when installing kernel TLS failed after a handshake: later connections stay in user space.
    ktls_usable: Cell<bool>,
}

/// A config loaded at startup, with the stamp of the files it came from (taken before reading them,
/// so a change during the read is noticed at the next check).
#[derive(Clone)]
pub struct Loaded {
    pub settings: Arc<TlsSettings>,
    pub config: Arc<ServerConfig>,
    pub stamp: FilesStamp,
}

impl Loaded {
    pub fn load(settings: TlsSettings) -> Result<Loaded, super::TlsConfigError> {
        let stamp = settings.stamp();
        let config = settings.load()?;
        Ok(Loaded {
            settings: Arc::new(settings),
            config,
            stamp,
        })
    }
}

impl Acceptor {
    pub fn new(shard: usize, loaded: Loaded) -> Acceptor {
        Acceptor {
            ktls_usable: Cell::new(loaded.settings.ktls),
            settings: loaded.settings,
            shard,
            current: RefCell::new(loaded.config),
            stamp: RefCell::new(loaded.stamp),
            next_check: Cell::new(Instant::now() + RELOAD_CHECK_INTERVAL),
        }
    }

    /// The config for a connection accepted now.
    pub fn config(&self) -> Arc<ServerConfig> {
        let now = Instant::now();
        if now >= self.next_check.get() {
            self.next_check.set(now + RELOAD_CHECK_INTERVAL);
            self.reload_if_changed();
        }
        self.current.borrow().clone()
    }

    fn reload_if_changed(&self) {
        let stamp = self.settings.stamp();
        if stamp == *self.stamp.borrow() {
            return;
        }
        // Remember the new stamp even if loading fails: a bad file is reported once, not per second;
        // fixing it changes the stamp again.
        *self.stamp.borrow_mut() = stamp;
        match self.settings.load() {
            Ok(config) => {
                *self.current.borrow_mut() = config;
                info!(shard = self.shard, "TLS certificates reloaded");
            }
            Err(e) => {
                warn!(shard = self.shard, error = %e, "TLS files changed but are not usable; keeping the previous certificates")
            }
        }
    }

    pub fn ktls_usable(&self) -> bool {
        self.ktls_usable.get()
    }

    pub fn disable_ktls(&self) {
        self.ktls_usable.set(false);
    }
}
