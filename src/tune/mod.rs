//! `shardlog tune check`: compares this machine's Linux settings with what shardlog wants (see
//! tuning/README.md) and prints each finding as OK / WARN / UNKNOWN with the current value, the
//! recommended one and the command that fixes it. Reading needs no root. `--apply` (root only) writes the
//! safe ones — sysctls, transparent huge pages, the CPU governor — for the running system; making them
//! permanent is left to the printed `persist` lines (tuning/sysctl.d/60-shardlog.conf).
//!
//! Exit status: 0 whenever the checks ran, warnings or not; non-zero only if something went wrong
//! (a bad config, `--apply` without root or a failed write).

pub mod checks;

use crate::config::layered::{self, LoadError, ServeArgs};
use checks::{Finding, Status, Sys, Target};
use clap::{Command, Subcommand, ValueEnum};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Subcommand, Clone, Debug)]
pub enum TuneCommand {
    /// Check CPU governor, huge pages, swappiness, writeback, socket buffers, memlock, open files, the
    /// data dir's file system, io_uring and IRQ balancing against shardlog's recommendations. Takes the
    /// same config as `serve` (file, env, flags) to know the data dir, shards and io memory. Exits 0 even
    /// with warnings.
    Check(Box<CheckArgs>),
}

#[derive(clap::Args, Clone, Debug)]
pub struct CheckArgs {
    /// `table` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Apply the safe fixes now (sysctls, transparent huge pages, CPU governor) — root only, not
    /// persistent across reboots; then check again.
    #[arg(long)]
    pub apply: bool,
    /// Read /proc and /sys under this directory instead of / (tests).
    #[arg(long, hide = true, default_value = "/")]
    pub sysroot: PathBuf,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Error)]
pub enum TuneError {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error(
        "`tune check --apply` writes /proc/sys and /sys and must run as root; nothing was changed \
         (run it with sudo, or apply the printed fix commands yourself)"
    )]
    NotRoot,
    #[error("applying {path}: {source}")]
    Apply {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("encoding the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// The whole report, as `--format json` prints it.
#[derive(Serialize)]
pub struct Report {
    pub data_dir: PathBuf,
    pub shards: Option<usize>,
    pub ok: usize,
    pub warn: usize,
    pub unknown: usize,
    /// What `--apply` changed (path = value).
    pub applied: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Runs a `tune` subcommand; `root` is the program's clap command, parsed again for the broker config.
pub fn run(command: &TuneCommand, root: &Command) -> Result<(), TuneError> {
    let TuneCommand::Check(args) = command;
    let config = layered::resolve(root, &["tune", "check"])?.broker;
    let sys = Sys {
        root: args.sysroot.clone(),
    };
    let target = Target {
        data_dir: config.data_dir.clone(),
        shards: config.shards,
        io_memory_bytes: config.io_memory_kib * 1024,
    };
    let mut applied = Vec::new();
    if args.apply {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(TuneError::NotRoot);
        }
        for f in checks::run_all(&sys, &target) {
            if f.status != Status::Warn {
                continue;
            }
            for (path, value) in &f.apply {
                std::fs::write(path, value).map_err(|source| TuneError::Apply {
                    path: path.clone(),
                    source,
                })?;
                applied.push(format!("{} = {value}", path.display()));
            }
        }
    }
    let findings = checks::run_all(&sys, &target);
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    let report = Report {
        data_dir: target.data_dir.clone(),
        shards: target.shards,
        ok: count(Status::Ok),
        warn: count(Status::Warn),
        unknown: count(Status::Unknown),
        applied,
        findings,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print!("{}", table(&report)),
    }
    Ok(())
}

/// The report for people: one row per finding, fixes under each warning.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "shardlog tune check: {} OK, {} WARN, {} UNKNOWN (data dir {}, shards {})",
        r.ok,
        r.warn,
        r.unknown,
        r.data_dir.display(),
        r.shards
            .map_or("one per CPU".to_string(), |s| s.to_string())
    )
    .unwrap();
    for a in &r.applied {
        writeln!(out, "applied: {a}").unwrap();
    }
    let cw = r.findings.iter().map(|f| f.check.len()).max().unwrap_or(5);
    writeln!(out).unwrap();
    writeln!(
        out,
        "{:7}  {:cw$}  CURRENT → RECOMMENDED",
        "STATUS", "CHECK"
    )
    .unwrap();
    for f in &r.findings {
        writeln!(
            out,
            "{:7}  {:cw$}  {} → {}",
            f.status.name(),
            f.check,
            f.current,
            f.recommended
        )
        .unwrap();
        if f.status == Status::Warn {
            let pad = " ".repeat(9 + cw);
            writeln!(out, "{pad}why: {}", f.why).unwrap();
            for fix in &f.fix {
                writeln!(out, "{pad}fix: {fix}").unwrap();
            }
            for p in &f.persist {
                writeln!(out, "{pad}persist: {p}").unwrap();
            }
        }
    }
    writeln!(out).unwrap();
    writeln!(
        out,
        "Warnings are advice: the exit status is 0 either way. `sudo shardlog tune check --apply` applies the \
         sysctl, huge page and governor fixes until the next reboot; tuning/README.md explains each setting."
    )
    .unwrap();
    out
}
