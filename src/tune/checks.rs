//! The checks `shardlog tune check` runs. Each reads /proc and /sys (under a root directory, `/` unless a
//! test says otherwise) without privileges and returns a `Finding`; a file that is missing or unreadable
//! (containers, VMs without cpufreq, old kernels) makes the finding UNKNOWN, never an error.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The sysctl.d file the fixes name (shipped as tuning/sysctl.d/60-shardlog.conf).
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/60-shardlog.conf";
/// Socket buffer ceiling recommended for the broker's connections (16 MiB).
const SOCKET_BUFFER_MAX: u64 = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warn,
    Unknown,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// One checked setting.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What was checked (`vm.swappiness`, `cpu.governor`, …).
    pub check: String,
    pub status: Status,
    /// The value found ("unknown: …" when it could not be read).
    pub current: String,
    pub recommended: String,
    /// Why it matters for shardlog.
    pub why: String,
    /// Commands that fix it now (most need root).
    pub fix: Vec<String>,
    /// How to make the fix survive a reboot.
    pub persist: Vec<String>,
    /// What `--apply` writes: (path, value). Empty for settings not safe to change automatically.
    #[serde(skip)]
    pub apply: Vec<(PathBuf, String)>,
}

impl Finding {
    fn new(check: &str, status: Status, current: String, recommended: &str, why: &str) -> Finding {
        Finding {
            check: check.into(),
            status,
            current,
            recommended: recommended.into(),
            why: why.into(),
            fix: Vec::new(),
            persist: Vec::new(),
            apply: Vec::new(),
        }
    }

    fn unknown(check: &str, what: &str, recommended: &str, why: &str) -> Finding {
        Finding::new(
            check,
            Status::Unknown,
            format!("unknown ({what})"),
            recommended,
            why,
        )
    }
}

/// What the checks need to know about the broker that would run here.
pub struct Target {
    pub data_dir: PathBuf,
    /// `--shards`, `None` = one per online CPU.
    pub shards: Option<usize>,
    pub io_memory_bytes: usize,
}

/// Reads files under a root directory (`/` normally).
pub struct Sys {
    pub root: PathBuf,
}

impl Sys {
    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    pub fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.path(path))
            .ok()
            .map(|s| s.trim().to_string())
    }

    fn sysctl(&self, name: &str) -> Option<String> {
        self.read(&sysctl_path(name))
    }
}

pub fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// Every check, in the order they are printed.
pub fn run_all(sys: &Sys, target: &Target) -> Vec<Finding> {
    let cpus = online_cpus(sys);
    let shards = target.shards.or(cpus).unwrap_or(1).max(1);
    let mut out = vec![cpu_governor(sys), cpu_count(sys, cpus, target.shards)];
    out.push(irqbalance(sys));
    out.push(transparent_hugepages(sys));
    out.push(sysctl_at_most(sys, "vm.swappiness", 10, 1,
        "the broker's memory is small and the page cache holds the log: swapping its pages out costs far more than dropping cache"));
    out.push(sysctl_at_most(sys, "vm.dirty_background_ratio", 10, 5,
        "start background writeback early so fsync (acks=all, flush interval) has little left to write"));
    out.push(sysctl_at_least(sys, "vm.dirty_ratio", 40, 60,
        "writers are throttled once this much memory is dirty; a shard blocked there stalls every partition it owns"));
    for name in ["net.core.rmem_max", "net.core.wmem_max"] {
        out.push(sysctl_at_least(
            sys,
            name,
            SOCKET_BUFFER_MAX,
            SOCKET_BUFFER_MAX,
            "caps the socket buffers a fast producer or consumer connection can grow to",
        ));
    }
    out.push(sysctl_at_least(sys, "net.core.somaxconn", 1024, 4096,
        "caps the listen backlog (shardlog asks for 1024 per shard); connection storms beyond it are dropped"));
    for name in ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"] {
        out.push(tcp_buffers(sys, name));
    }
    out.push(memlock(sys, shards, target.io_memory_bytes));
    out.push(open_files(sys));
    out.extend(data_dir_mount(sys, &target.data_dir));
    out.push(io_uring(sys));
    out
}

/// Online CPUs from /sys/devices/system/cpu/online ("0-3,6").
fn online_cpus(sys: &Sys) -> Option<usize> {
    let list = sys.read("/sys/devices/system/cpu/online")?;
    parse_cpu_list(&list)
}

pub fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => n += b.parse::<usize>().ok()? - a.parse::<usize>().ok()? + 1,
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    Some(n)
}

fn cpu_governor(sys: &Sys) -> Finding {
    let why = "power-saving governors lower the clock between bursts: every request then pays the ramp-up";
    let mut governors = Vec::new();
    let mut paths = Vec::new();
    if let Ok(dir) = std::fs::read_dir(sys.path("/sys/devices/system/cpu")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name
                .strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                let rel = format!("/sys/devices/system/cpu/{name}/cpufreq/scaling_governor");
                if let Some(g) = sys.read(&rel) {
                    governors.push(g);
                    paths.push(sys.path(&rel));
                }
            }
        }
    }
    if governors.is_empty() {
        return Finding::unknown(
            "cpu.governor",
            "no cpufreq in /sys: a VM or container, the host decides",
            "performance",
            why,
        );
    }
    governors.sort();
    governors.dedup();
    let ok = governors.iter().all(|g| g == "performance");
    let mut f = Finding::new(
        "cpu.governor",
        if ok { Status::Ok } else { Status::Warn },
        governors.join(","),
        "performance",
        why,
    );
    if !ok {
        f.fix.push(
            "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
                .into(),
        );
        f.fix
            .push("sudo cpupower frequency-set -g performance".into());
        f.persist.push("run `cpupower frequency-set -g performance` at boot (cpupower.service), or `tuned-adm profile latency-performance`".into());
        f.apply = paths
            .into_iter()
            .map(|p| (p, "performance".to_string()))
            .collect();
    }
    f
}

fn cpu_count(sys: &Sys, cpus: Option<usize>, shards: Option<usize>) -> Finding {
    let why = "each shard is pinned to its own core; more shards than cores share cores and lose the point of thread-per-core";
    let Some(cpus) = cpus else {
        return Finding::unknown(
            "cpu.shards",
            "cannot read /sys/devices/system/cpu/online",
            "shards ≤ online CPUs",
            why,
        );
    };
    let isolated = sys
        .read("/sys/devices/system/cpu/isolated")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "none".into());
    let n = shards.unwrap_or(cpus);
    let current = format!(
        "{n} shards{} on {cpus} online CPUs (isolated: {isolated})",
        if shards.is_none() {
            " (one per CPU)"
        } else {
            ""
        }
    );
    let mut f = Finding::new(
        "cpu.shards",
        if n <= cpus { Status::Ok } else { Status::Warn },
        current,
        &format!(
            "≤ {cpus}; on a dedicated host {} leaves a core to NIC interrupts and the kernel",
            cpus.saturating_sub(1).max(1)
        ),
        why,
    );
    if n > cpus {
        f.fix.push(format!(
            "shardlog serve --shards {cpus}   (or shardlog.shards = {cpus} in the config file)"
        ));
    }
    f
}

fn irqbalance(sys: &Sys) -> Finding {
    let check = "irqbalance";
    let recommended = "not running, or running with the shard cores banned; NIC IRQs pinned by tuning/irq-affinity.sh";
    let why = "irqbalance moves NIC interrupts onto any core, including busy shard cores";
    let Ok(procs) = std::fs::read_dir(sys.path("/proc")) else {
        return Finding::unknown(check, "cannot list /proc", recommended, why);
    };
    let running = procs.flatten().any(|e| {
        let name = e.file_name();
        name.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
            && std::fs::read_to_string(e.path().join("comm"))
                .is_ok_and(|c| c.trim() == "irqbalance")
    });
    if !running {
        return Finding::new(check, Status::Ok, "not running".into(), recommended, why);
    }
    let banned = ["/etc/default/irqbalance", "/etc/sysconfig/irqbalance"]
        .iter()
        .filter_map(|p| sys.read(p))
        .flat_map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
        .find(|l| l.trim_start().starts_with("IRQBALANCE_BANNED_CPU"));
    match banned {
        Some(line) => Finding::new(
            check,
            Status::Ok,
            format!("running, {}", line.trim()),
            recommended,
            why,
        ),
        None => {
            let mut f = Finding::new(
                check,
                Status::Warn,
                "running, no banned CPUs".into(),
                recommended,
                why,
            );
            f.fix.push("sudo systemctl disable --now irqbalance && sudo tuning/irq-affinity.sh --apply <nic> <non-shard cpus>".into());
            f.persist.push("or keep irqbalance off the shard cores: IRQBALANCE_BANNED_CPULIST=<shard cpus> in /etc/default/irqbalance (Debian) or /etc/sysconfig/irqbalance".into());
            f
        }
    }
}

/// The selected mode of a `[always] madvise never` line.
pub fn selected_mode(line: &str) -> Option<&str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
}

fn transparent_hugepages(sys: &Sys) -> Finding {
    let check = "transparent_hugepage";
    let path = "/sys/kernel/mm/transparent_hugepage/enabled";
    let why = "`always` makes the kernel stall allocations to compact memory into huge pages (latency spikes) for no gain on page-cache I/O";
    let Some(line) = sys.read(path) else {
        return Finding::unknown(
            check,
            "no /sys/kernel/mm/transparent_hugepage",
            "madvise",
            why,
        );
    };
    let mode = selected_mode(&line).unwrap_or(&line).to_string();
    let ok = mode == "madvise" || mode == "never";
    let mut f = Finding::new(
        check,
        if ok { Status::Ok } else { Status::Warn },
        mode,
        "madvise (or never)",
        why,
    );
    if !ok {
        f.fix.push(format!("echo madvise | sudo tee {path}"));
        f.persist.push("add transparent_hugepage=madvise to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub".into());
        f.apply.push((sys.path(path), "madvise".into()));
    }
    f
}

fn sysctl_fix(sys: &Sys, f: &mut Finding, name: &str, value: &str) {
    f.fix.push(format!("sudo sysctl -w {name}=\"{value}\""));
    f.persist.push(format!("{name} = {value}   (a line in {SYSCTL_FILE}; tuning/sysctl.d/60-shardlog.conf has them all)"));
    f.apply
        .push((sys.path(&sysctl_path(name)), value.to_string()));
}

fn sysctl_bound(
    sys: &Sys,
    name: &str,
    ok: impl Fn(u64) -> bool,
    shown: String,
    recommended: u64,
    why: &str,
) -> Finding {
    let Some(raw) = sys.sysctl(name) else {
        return Finding::unknown(name, &format!("no {}", sysctl_path(name)), &shown, why);
    };
    let Ok(value) = raw.parse::<u64>() else {
        return Finding::unknown(name, &format!("unreadable value {raw:?}"), &shown, why);
    };
    let good = ok(value);
    let mut f = Finding::new(
        name,
        if good { Status::Ok } else { Status::Warn },
        raw,
        &shown,
        why,
    );
    if !good {
        sysctl_fix(sys, &mut f, name, &recommended.to_string());
    }
    f
}

fn sysctl_at_most(sys: &Sys, name: &str, max: u64, recommended: u64, why: &str) -> Finding {
    let shown = format!("{recommended} (≤ {max})");
    sysctl_bound(sys, name, |v| v <= max, shown, recommended, why)
}

fn sysctl_at_least(sys: &Sys, name: &str, min: u64, recommended: u64, why: &str) -> Finding {
    let shown = if min == recommended {
        format!("≥ {min}")
    } else {
        format!("{recommended} (≥ {min})")
    };
    sysctl_bound(sys, name, |v| v >= min, shown, recommended, why)
}

/// `net.ipv4.tcp_rmem`/`tcp_wmem` ("min default max"): the max must reach 16 MiB.
fn tcp_buffers(sys: &Sys, name: &str) -> Finding {
    let why = "TCP autotuning grows a connection's buffer up to this max (it is not limited by net.core.*mem_max)";
    let shown = format!("max ≥ {SOCKET_BUFFER_MAX}");
    let Some(raw) = sys.sysctl(name) else {
        return Finding::unknown(name, &format!("no {}", sysctl_path(name)), &shown, why);
    };
    let parts: Vec<u64> = raw
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let [min, default, max] = parts[..] else {
        return Finding::unknown(name, &format!("unreadable value {raw:?}"), &shown, why);
    };
    let good = max >= SOCKET_BUFFER_MAX;
    let current = parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let mut f = Finding::new(
        name,
        if good { Status::Ok } else { Status::Warn },
        current,
        &shown,
        why,
    );
    if !good {
        sysctl_fix(
            sys,
            &mut f,
            name,
            &format!("{min} {default} {SOCKET_BUFFER_MAX}"),
        );
    }
    f
}

/// (soft, hard) of one line of /proc/self/limits; `None` = unlimited.
pub fn parse_limit(limits: &str, name: &str) -> Option<(Option<u64>, Option<u64>)> {
    let line = limits.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let mut value = || match words.next()? {
        "unlimited" => Some(None),
        v => v.parse().ok().map(Some),
    };
    Some((value()?, value()?))
}

fn effective_uid(sys: &Sys) -> Option<u32> {
    let status = sys.read("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn show_limit(v: Option<u64>, unit: u64, suffix: &str) -> String {
    v.map_or("unlimited".into(), |v| format!("{}{suffix}", v / unit))
}

fn memlock(sys: &Sys, shards: usize, io_memory: usize) -> Finding {
    let check = "memlock";
    let need = crate::broker::memlock_needed(shards, io_memory);
    let recommended = format!(
        "≥ {} KiB ({shards} shards × {} rings × {} KiB io memory), or unlimited",
        need / 1024,
        crate::broker::RINGS_PER_EXECUTOR,
        io_memory / 1024
    );
    let why =
        "io_uring registers locked memory per shard; below the need the broker refuses to start";
    if effective_uid(sys) == Some(0) {
        return Finding::new(
            check,
            Status::Ok,
            "running as root: not limited (CAP_IPC_LOCK)".into(),
            &recommended,
            why,
        );
    }
    let Some((soft, hard)) = sys
        .read("/proc/self/limits")
        .and_then(|l| parse_limit(&l, "Max locked memory"))
    else {
        return Finding::unknown(check, "cannot read /proc/self/limits", &recommended, why);
    };
    let fits = |v: Option<u64>| v.is_none_or(|v| v >= need);
    let current = format!(
        "soft {}, hard {}",
        show_limit(soft, 1024, " KiB"),
        show_limit(hard, 1024, " KiB")
    );
    let (status, current) = if fits(soft) {
        (Status::Ok, current)
    } else if fits(hard) {
        (
            Status::Ok,
            format!("{current} (the broker raises its soft limit to the hard limit)"),
        )
    } else {
        (Status::Warn, current)
    };
    let mut f = Finding::new(check, status, current, &recommended, why);
    if status == Status::Warn {
        f.fix.push(format!("as root, before starting the broker: ulimit -l {}   (or lower --io-memory-kib / --shards)", need.div_ceil(1024)));
        f.persist
            .push("systemd: LimitMEMLOCK=infinity (tuning/shardlog.service)".into());
        f.persist.push("otherwise /etc/security/limits.d/shardlog.conf: `shardlog hard memlock unlimited` and `shardlog soft memlock unlimited`".into());
        f.persist.push("docker: --ulimit memlock=-1".into());
    }
    f
}

fn open_files(sys: &Sys) -> Finding {
    let check = "nofile";
    let recommended = "≥ 65536 (1048576 in tuning/shardlog.service)";
    let why = "every segment file of every partition and every client connection is a descriptor";
    let Some((soft, hard)) = sys
        .read("/proc/self/limits")
        .and_then(|l| parse_limit(&l, "Max open files"))
    else {
        return Finding::unknown(check, "cannot read /proc/self/limits", recommended, why);
    };
    let good = soft.is_none_or(|v| v >= 65536);
    let current = format!(
        "soft {}, hard {}",
        show_limit(soft, 1, ""),
        show_limit(hard, 1, "")
    );
    let mut f = Finding::new(
        check,
        if good { Status::Ok } else { Status::Warn },
        current,
        recommended,
        why,
    );
    if !good {
        f.fix.push("ulimit -n 1048576   (in the shell that starts the broker; above the hard limit needs root)".into());
        f.persist
            .push("systemd: LimitNOFILE=1048576 (tuning/shardlog.service)".into());
        f.persist.push(
            "otherwise /etc/security/limits.d/shardlog.conf: `shardlog - nofile 1048576`".into(),
        );
    }
    f
}

/// One mount from /proc/self/mountinfo.
#[derive(Debug, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub options: String,
    pub fs_type: String,
    pub source: String,
}

/// `\040`-style escapes in mountinfo paths.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount holding `path` (an absolute, canonical path): the longest mount point above it, the last
/// one mounted when several share it.
pub fn mount_of(mountinfo: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        if left.len() < 6 || right.len() < 2 {
            continue;
        }
        let mount = Mount {
            mount_point: PathBuf::from(unescape(left[4])),
            options: left[5].to_string(),
            fs_type: right[0].to_string(),
            source: unescape(right[1]),
        };
        if path.starts_with(&mount.mount_point)
            && best.as_ref().is_none_or(|b| {
                mount.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len()
            })
        {
            best = Some(mount);
        }
    }
    best
}

/// The data dir if it exists, else its nearest existing parent (the broker creates it there).
fn existing_dir(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    abs.ancestors().find_map(|p| p.canonicalize().ok())
}

fn data_dir_mount(sys: &Sys, data_dir: &Path) -> Vec<Finding> {
    let fs_why = "xfs and ext4 are what Kafka-style logs are run and measured on; tmpfs loses data at reboot, overlay (containers) adds a copy-up layer, copy-on-write file systems amplify appends";
    let atime_why = "atime updates turn every read of a segment into a metadata write";
    let unknown = |what: &str| {
        vec![
            Finding::unknown("data_dir.fs", what, "xfs or ext4", fs_why),
            Finding::unknown("data_dir.atime", what, "noatime", atime_why),
        ]
    };
    let Some(dir) = existing_dir(data_dir) else {
        return unknown(&format!("cannot resolve {}", data_dir.display()));
    };
    let Some(mountinfo) = sys.read("/proc/self/mountinfo") else {
        return unknown("cannot read /proc/self/mountinfo");
    };
    let Some(m) = mount_of(&mountinfo, &dir) else {
        return unknown(&format!("no mount found for {}", dir.display()));
    };
    let on = format!(
        "{} on {} ({})",
        m.source,
        m.mount_point.display(),
        dir.display()
    );
    let good_fs = m.fs_type == "xfs" || m.fs_type == "ext4";
    let mut fs = Finding::new(
        "data_dir.fs",
        if good_fs { Status::Ok } else { Status::Warn },
        format!("{}: {on}", m.fs_type),
        "xfs or ext4",
        fs_why,
    );
    if !good_fs {
        fs.fix.push("put the data dir (--data-dir / log.dir) on an xfs or ext4 file system: mkfs.xfs /dev/<disk>; mount it with noatime".into());
    }
    let opts: Vec<&str> = m.options.split(',').collect();
    let good_atime = opts.contains(&"noatime");
    let atime = opts
        .iter()
        .find(|o| o.ends_with("atime"))
        .map_or("atime (default: relatime)".to_string(), |o| o.to_string());
    let mut at = Finding::new(
        "data_dir.atime",
        if good_atime { Status::Ok } else { Status::Warn },
        format!("{atime}: {}", m.mount_point.display()),
        "noatime",
        atime_why,
    );
    if !good_atime {
        at.fix.push(format!(
            "sudo mount -o remount,noatime {}",
            m.mount_point.display()
        ));
        at.persist.push(format!(
            "add noatime to the options of {} in /etc/fstab",
            m.mount_point.display()
        ));
    }
    vec![fs, at]
}

/// Asks the kernel for a one-entry io_uring; the error (ENOSYS, EPERM from seccomp or
/// kernel.io_uring_disabled) if it refuses.
fn probe_io_uring() -> std::io::Result<()> {
    // struct io_uring_params is 120 bytes of u32/u64 fields; zeroed asks for defaults.
    let mut params = [0u64; 15];
    // SAFETY: io_uring_setup(2) reads and writes at most sizeof(struct io_uring_params) = 120 bytes at
    // the pointer, which points to 120 writable, 8-byte-aligned bytes.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned to us and is closed exactly once.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}

fn io_uring(sys: &Sys) -> Finding {
    let check = "io_uring";
    let why = "every shard runs on io_uring (glommio): without it the broker cannot start";
    let sysctl = sys.sysctl("kernel.io_uring_disabled");
    let probe = probe_io_uring();
    let setting = match sysctl.as_deref() {
        Some("0") => "kernel.io_uring_disabled=0".to_string(),
        Some("1") => "kernel.io_uring_disabled=1 (only root and kernel.io_uring_group)".to_string(),
        Some("2") => "kernel.io_uring_disabled=2 (off for everyone)".to_string(),
        Some(v) => format!("kernel.io_uring_disabled={v}"),
        None => "no kernel.io_uring_disabled (kernel < 6.6)".to_string(),
    };
    let (status, current) = match &probe {
        Ok(()) => (Status::Ok, format!("available; {setting}")),
        Err(e) => (
            Status::Warn,
            format!("io_uring_setup failed: {e}; {setting}"),
        ),
    };
    let mut f = Finding::new(
        check,
        status,
        current,
        "available (kernel ≥ 5.8, kernel.io_uring_disabled=0)",
        why,
    );
    if probe.is_err() {
        if sysctl.as_deref().is_some_and(|v| v != "0") {
            f.fix
                .push("sudo sysctl -w kernel.io_uring_disabled=0".into());
            f.persist.push(format!(
                "kernel.io_uring_disabled = 0   (a line in {SYSCTL_FILE})"
            ));
        }
        f.fix.push("in a container: allow io_uring_setup/io_uring_enter/io_uring_register in the seccomp profile (docker: --security-opt seccomp=<profile>)".into());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_and_sys_formats() {
        assert_eq!(parse_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(selected_mode("always [madvise] never"), Some("madvise"));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n\
                      Max locked memory         8388608              unlimited            bytes\n";
        assert_eq!(
            parse_limit(limits, "Max open files"),
            Some((Some(1024), Some(524288)))
        );
        assert_eq!(
            parse_limit(limits, "Max locked memory"),
            Some((Some(8388608), None))
        );
    }

    #[test]
    fn finds_the_mount_of_a_path() {
        let mountinfo = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                         30 22 8:17 / /var/lib/shard\\040log rw,noatime shared:2 - xfs /dev/sdb1 rw\n\
                         31 22 0:5 / /var/lib/shardlogx rw - tmpfs tmpfs rw\n";
        let m = mount_of(mountinfo, Path::new("/var/lib/shard log/data")).unwrap();
        assert_eq!(m.fs_type, "xfs");
        assert_eq!(m.options, "rw,noatime");
        assert_eq!(m.mount_point, Path::new("/var/lib/shard log"));
        let m = mount_of(mountinfo, Path::new("/var/lib/shardlogxyz")).unwrap();
        assert_eq!(m.fs_type, "ext4", "prefix match must be per path component");
    }

    #[test]
    fn an_empty_root_gives_unknowns_not_errors() {
        let sys = Sys {
            root: PathBuf::from("/nonexistent-shardlog-root"),
        };
        let target = Target {
            data_dir: PathBuf::from("/nonexistent/data"),
            shards: None,
            io_memory_bytes: 1 << 20,
        };
        let findings = run_all(&sys, &target);
        assert!(findings.len() > 15);
        for f in findings.iter().filter(|f| f.check != "io_uring") {
            assert_eq!(f.status, Status::Unknown, "{f:?}");
        }
    }
}
