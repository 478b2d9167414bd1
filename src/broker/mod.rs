//! The broker assembly: how the shards start and what each runs. One glommio executor per core, one glommio executor per core, pinned (`PoolPlacement::MaxSpread`), joined
//! by a full channel mesh. Settings chosen (see ARCHITECTURE.md): `io_memory` from `--io-memory-kib`
//! (1 MiB default, so 2 shards × 3 rings fit an 8 MiB memlock limit), `ring_depth` 128, and idle shards
//! park at once unless `--spin-before-park-us` asks otherwise.

pub mod shard;

use crate::cluster::metadata::{MetadataImage, MetadataSnapshot};
use crate::config::BrokerConfig;
use crate::controller::Controller;
use crate::controller::{isr, liveness, registration};
use crate::metrics::{self, Registry};
use crate::net;
use crate::quorum::Quorum;
use crate::runtime::mesh::{Job, Mesh, CONTROLLER_SHARD};
use crate::runtime::router;
use anyhow::{bail, Context};
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};
use shard::Shard;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// Mesh channel capacity per shard pair: bounded, so a slow shard pushes back on its senders.
const MESH_CHANNEL_CAPACITY: usize = 1024;
/// How often group session timeouts and rebalance deadlines are checked.
const GROUP_TICK: Duration = Duration::from_millis(100);
/// io_uring rings glommio opens per executor (main, latency, poll): what `io_memory` is locked for.
pub const RINGS_PER_EXECUTOR: usize = 3;

/// Bytes of locked memory `shards` executors with `io_memory` bytes each need (`shardlog tune check`
/// compares it with RLIMIT_MEMLOCK too).
pub fn memlock_needed(shards: usize, io_memory: usize) -> u64 {
    (shards * RINGS_PER_EXECUTOR * io_memory) as u64
}

fn check_memlock(shards: usize, io_memory: usize) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Ok(()); // root has CAP_IPC_LOCK: no limit applies
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Ok(());
    }
    let need = memlock_needed(shards, io_memory);
    if lim.rlim_cur != libc::RLIM_INFINITY && need > lim.rlim_cur && lim.rlim_max > lim.rlim_cur {
        // Any process may raise its soft limit up to the hard limit: do that before giving up.
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: as above; only the soft limit changes, within the hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } == 0 {
            info!(
                memlock_kib = lim.rlim_cur / 1024,
                "raised the locked-memory soft limit to the hard limit"
            );
        }
    }
    if lim.rlim_cur != libc::RLIM_INFINITY && need > lim.rlim_cur {
        bail!(
            "locked-memory limit is {} KiB but {shards} shards × {RINGS_PER_EXECUTOR} rings × {} KiB io_memory need {} KiB. \
             Raise it (`ulimit -l {}` as root, or LimitMEMLOCK= in systemd), or lower --io-memory-kib / --shards.",
            lim.rlim_cur / 1024,
            io_memory / 1024,
            need / 1024,
            need / 1024
        );
    }
    Ok(())
}

/// An exclusive lock on the data directory for the life of the process: two brokers writing the same
/// logs would corrupt them.
fn lock_data_dir(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::io::AsRawFd;
    let path = dir.join(".lock");
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!(
            "data dir {} is in use by another shardlog process",
            dir.display()
        );
    }
    Ok(file)
}

/// `--listen`'s built-in default, to tell whether it was changed.
fn default_listen() -> std::net::SocketAddr {
    BrokerConfig::defaults().listen
}

/// Starts the broker and blocks until every shard exits.
pub fn serve(config: BrokerConfig) -> anyhow::Result<()> {
    let cpus = CpuSet::online().map_err(|e| anyhow::anyhow!("reading online CPUs: {e}"))?;
    let shards = config.shards.unwrap_or(cpus.len()).max(1);
    let io_memory = config.io_memory_kib * 1024;
    check_memlock(shards, io_memory)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let _lock = lock_data_dir(&config.data_dir)?;
    let listeners = config
        .resolved_listeners()
        .context("listeners (listeners, advertised.listeners, listener.security.protocol.map)")?;
    for l in &listeners {
        net::server::ensure_port_free(l.bind).with_context(|| {
            format!(
                "cannot listen on {} for {} (is another broker running?)",
                l.bind, l.name
            )
        })?;
    }
    if config.listeners.is_some()
        && (config.advertised.is_some() || config.listen != default_listen())
    {
        tracing::warn!(
            "--listen/--advertised are ignored because listeners is set (use advertised.listeners)"
        );
    }
    let tls = load_tls(&config, &listeners)?;
    let listeners = Arc::new(listeners);
    let roles = crate::types::roles::Roles::of(&config.process_roles);
    let boot = match &config.controller_quorum_voters {
        Some(voters) => Some(
            crate::quorum::Boot::open(&config, voters).context("starting the metadata quorum")?,
        ),
        None => None,
    };
    let image = match &boot {
        Some(b) => b.image.clone(),
        None => load_single_node_image(&config)?,
    };
    // On a single node this node is the controller; a cluster learns its controller from the quorum.
    let controller_id = boot.is_none().then_some(config.node_id);
    let snapshot = Arc::new(MetadataSnapshot::from_image(
        &image,
        config.node_id,
        controller_id,
    ));
    info!(
        listeners = %listeners
            .iter()
            .map(|l| format!("{}://{} ({})", l.name, l.bind, l.protocol))
            .collect::<Vec<_>>()
            .join(","),
        data_dir = %config.data_dir.display(),
        shards,
        node_id = config.node_id,
        quorum = config.controller_quorum_voters.as_deref().unwrap_or("none (single node)"),
        cluster_id = %image.cluster_id,
        topics = image.topics.len(),
        "starting shardlog"
    );
    let data_dir = config.data_dir.clone();
    let config = Arc::new(config);
    block_shutdown_signals()?;
    let served: Vec<_> = crate::kafka::SUPPORTED
        .iter()
        .map(|&(key, _, _)| key)
        .collect();
    let registry = Registry::new(shards, &served);
    // Before the shards start, so /health answers and /ready says 503 during recovery; after the
    // signals are blocked, so its threads inherit the mask and SIGTERM reaches the shutdown thread.
    metrics::http::start(config.admin_listen, registry.clone())
        .context("starting the admin HTTP endpoint (--admin-listen)")?;
    std::thread::Builder::new()
        .name("shutdown".into())
        .spawn(move || shutdown_on_signal(&data_dir))
        .context("starting the shutdown thread")?;
    let mesh = MeshBuilder::<Job, _>::full(shards, MESH_CHANNEL_CAPACITY);
    // Handed to the controller shard once, at startup.
    let controller_start = Arc::new(std::sync::Mutex::new(Some((image, boot))));
    let register_as_broker = roles.broker;
    let placement = if shards <= cpus.len() {
        PoolPlacement::MaxSpread(shards, Some(cpus))
    } else {
        PoolPlacement::Unbound(shards)
    };
    let handles = LocalExecutorPoolBuilder::new(placement)
        .io_memory(io_memory)
        .ring_depth(config.ring_depth)
        .spin_before_park(Duration::from_micros(config.spin_before_park_us))
        .name("shard")
        .on_all_shards(move || {
            let config = config.clone();
            let snapshot = snapshot.clone();
            let controller_start = controller_start.clone();
            let registry = registry.clone();
            let listeners = listeners.clone();
            let tls = tls.clone();
            async move {
                let (senders, receivers) = mesh.join().await.expect("joining the shard mesh");
                let mesh = Mesh::join(senders);
                let shard = Shard::new(config.clone(), mesh.clone(), snapshot.clone(), registry);
                let mut quorum_start = None;
                if mesh.id() == CONTROLLER_SHARD {
                    let (image, boot) = controller_start
                        .lock()
                        .expect("startup lock")
                        .take()
                        .expect("one controller");
                    let controller = match boot {
                        None => Controller::local(config.clone(), shard.publisher(), image),
                        Some(boot) => {
                            let (inbox, events) = glommio::channels::local_channel::new_bounded(1024);
                            let inbox = Rc::new(inbox);
                            let quorum = Rc::new(Quorum::new(boot.node_id, boot.learner, inbox.clone()));
                            let controller =
                                Controller::replicated(config.clone(), shard.publisher(), quorum.clone(), image);
                            quorum_start = Some((boot, quorum, events, inbox));
                            controller
                        }
                    };
                    shard.provide_controller(Rc::new(controller));
                }
                mesh.start_receivers(receivers);
                shard.apply_metadata(snapshot);
                mesh.wait_for_peers_started().await;
                let controller = mesh.service::<Controller>();
                if let (Some((boot, quorum, events, inbox)), Some(controller)) = (quorum_start, &controller) {
                    let voters = boot.voters.len();
                    if let Err(e) = crate::quorum::node::start(controller.clone(), boot, quorum.clone(), events, inbox) {
                        tracing::error!(error = %e, "cannot start the metadata quorum");
                        std::process::exit(1);
                    }
                    let record = register_as_broker
                        .then(|| registration::broker_record(&config, mesh.count(), &listeners));
                    let users = config.sasl_bootstrap_users.clone();
                    glommio::spawn_local(registration::register_then_prepare(controller.clone(), users, record, voters)).detach();
                    let (controller, config) = (controller.clone(), config.clone());
                    glommio::spawn_local(async move { liveness::watch_brokers(controller, &config, quorum).await }).detach();
                } else if let Some(controller) = &controller {
                    if let Err(e) = controller.ensure_internal_topics().await {
                        tracing::error!(error = %e, "cannot create the internal topics; consumer groups and transactions will not work");
                    }
                }
                spawn_housekeeping(&shard);
                isr::spawn_isr_maintenance(shard.isr_maintenance());
                if let Err(e) = net::server::run(shard.scope.clone(), &shard.registry, &listeners, tls).await {
                    tracing::error!(error = %e, "shard stopped");
                }
            }
        })
        .map_err(|e| {
            anyhow::anyhow!(
                "starting shard executors (see README: io_uring and locked memory): {e}"
            )
        })?;
    handles.join_all();
    Ok(())
}

/// The TLS config of the SSL and SASL_SSL listeners, loaded (and so checked) before anything starts;
/// `None` without TLS listeners.
fn load_tls(
    config: &BrokerConfig,
    listeners: &[crate::security::listener::Listener],
) -> anyhow::Result<Option<net::tls::Loaded>> {
    let Some(first) = listeners.iter().find(|l| l.protocol.uses_tls()) else {
        return Ok(None);
    };
    let context = || format!("TLS for listener {} ({})", first.name, first.protocol);
    let settings = net::tls::TlsSettings::from_config(config).with_context(context)?;
    let loaded = net::tls::Loaded::load(settings).with_context(context)?;
    match net::tls::ktls::kernel_support() {
        Ok(()) if loaded.settings.ktls => {
            info!("kTLS: offered by the kernel; AES-GCM sessions move to the kernel after the handshake")
        }
        Ok(()) => info!("kTLS: turned off (shardlog.ssl.ktls.enable); TLS runs in user space"),
        Err(why) => info!(%why, "kTLS: not offered by the kernel; TLS runs in user space"),
    }
    Ok(Some(loaded))
}

/// The single node's metadata from its local file, with `sasl.bootstrap.users` added before any shard
/// starts (so no client can race the first users' creation).
fn load_single_node_image(config: &BrokerConfig) -> anyhow::Result<MetadataImage> {
    let mut image = MetadataImage::load_or_new(&config.data_dir, config.node_id)
        .context("loading cluster metadata")?;
    if let Some(list) = &config.sasl_bootstrap_users {
        let created = crate::controller::add_bootstrap_users(&mut image, list)
            .context("sasl.bootstrap.users")?;
        if !created.is_empty() {
            image
                .persist(&config.data_dir)
                .context("persisting sasl.bootstrap.users")?;
            info!(users = ?created, "created SASL users from sasl.bootstrap.users");
        }
    }
    Ok(image)
}

/// Blocks SIGTERM/SIGINT in this thread before the shards start, so every thread inherits the mask
/// and only the shutdown thread receives them (through `sigwait`).
fn block_shutdown_signals() -> anyhow::Result<()> {
    // SAFETY: sigset manipulation on a local, zero-initialised set; pthread_sigmask on the current thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            bail!("cannot block shutdown signals");
        }
    }
    Ok(())
}

/// Clean shutdown: on SIGTERM/SIGINT, fsync the whole file system holding the data directory (every
/// segment and checkpoint of every shard, in one call) and exit. Nothing acknowledged is then lost even
/// to a power cut right after shutdown.
fn shutdown_on_signal(data_dir: &std::path::Path) {
    // SAFETY: as in block_shutdown_signals; sigwait blocks this thread until one of the signals arrives.
    let signal = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let mut sig = 0;
        libc::sigwait(&set, &mut sig);
        sig
    };
    info!(signal, "shutting down: syncing data to disk");
    match std::fs::File::open(data_dir) {
        // SAFETY: syncfs on an fd we own.
        Ok(dir) => unsafe {
            libc::syncfs(std::os::unix::io::AsRawFd::as_raw_fd(&dir));
        },
        Err(e) => tracing::error!(error = %e, "cannot open data dir to sync it"),
    }
    info!("shutdown complete");
    std::process::exit(0);
}

/// One lag sample for every group this shard coordinates: log end offsets come from the partitions'
/// own shards.
async fn sample_lag(shard: &Shard) {
    let committed = shard.groups.all_committed();
    if committed.is_empty() {
        shard.metrics.publish_lag(Vec::new());
        return;
    }
    let keys: std::collections::BTreeSet<(String, i32)> =
        committed.iter().map(|(_, k, _)| k.clone()).collect();
    let items = keys
        .iter()
        .map(|(topic, partition)| router::PartitionItem {
            topic: topic.clone(),
            partition: *partition,
            input: (),
        })
        .collect();
    let ends = router::on_owners(&shard.scope.router, items, |log, ()| async move {
        log.map(|l| l.high_watermark.get())
    })
    .await;
    let ends = keys
        .into_iter()
        .zip(ends)
        .filter_map(|(k, e)| Some((k, e?)))
        .collect();
    shard.groups.record_lag(&committed, &ends);
    shard.metrics.publish_lag(shard.groups.lag_samples());
}

/// Per-shard timers: background flush of unsynced data, group ticks, lag samples, compaction,
/// retention, and folding glommio's executor/io_uring stats into the shard's metrics.
fn spawn_housekeeping(shard: &Rc<Shard>) {
    glommio::spawn_local(crate::kafka::txn_markers::run_housekeeping(
        shard.scope.clone(),
    ))
    .detach();
    let s = shard.clone();
    glommio::spawn_local(async move {
        let mut last = std::time::Instant::now();
        loop {
            glommio::timer::sleep(crate::metrics::STATS_SAMPLE_INTERVAL).await;
            let now = std::time::Instant::now();
            s.metrics.sample_executor(now - last);
            last = now;
        }
    })
    .detach();
    let flush_every = Duration::from_millis(shard.config.flush_interval_ms.max(1));
    let s = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(flush_every).await;
            for log in s.partitions.all() {
                log.flush_if_dirty();
            }
        }
    })
    .detach();
    let s = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(GROUP_TICK).await;
            let timeout = Duration::from_millis(s.config.group_consumer_session_timeout_ms);
            s.groups
                .tick(std::time::Instant::now(), timeout, &s.metadata.get());
        }
    })
    .detach();
    let lag_every = Duration::from_millis(shard.config.group_lag_sample_interval_ms.max(1));
    let s = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(lag_every).await;
            sample_lag(&s).await;
        }
    })
    .detach();
    let cleaner_every = Duration::from_millis(shard.config.log_cleaner_backoff_ms.max(1));
    let s = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(cleaner_every).await;
            let now = crate::storage::log::now_ms();
            for log in s.partitions.all() {
                log.compact(now);
            }
        }
    })
    .detach();
    let retention_every =
        Duration::from_millis(shard.config.log_retention_check_interval_ms.max(1));
    let s = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(retention_every).await;
            let now = crate::storage::log::now_ms();
            for log in s.partitions.all() {
                log.enforce_retention(now);
            }
        }
    })
    .detach();
}
