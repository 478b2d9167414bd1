//! `shardlog tune check` on the machine running the tests: it must run without root, exit 0 with or
//! without warnings, report every main check, and say "unknown" (not crash) where /proc or /sys lack a
//! file. `--apply` is never run here: it changes the machine.

use crate::common;

use std::process::{Command, Output};

const MAIN_CHECKS: &[&str] = &[
    "cpu.governor",
    "cpu.shards",
    "irqbalance",
    "transparent_hugepage",
    "vm.swappiness",
    "vm.dirty_background_ratio",
    "vm.dirty_ratio",
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.core.somaxconn",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "memlock",
    "nofile",
    "data_dir.fs",
    "data_dir.atime",
    "io_uring",
];

fn tune(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .args(["tune", "check"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tune check {args:?} exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = tune(&all);
    serde_json::from_slice(&out.stdout).expect("tune check --format json prints JSON")
}

#[test]
fn tune_check_reports_every_main_check_and_exits_0() {
    let out = tune(&[]);
    let text = String::from_utf8(out.stdout).unwrap();
    for check in MAIN_CHECKS {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no row for {check} in:\n{text}"));
        let status = row.split_whitespace().next().unwrap();
        assert!(["OK", "WARN", "UNKNOWN"].contains(&status), "{row}");
    }
}

#[test]
fn tune_check_json_has_status_values_and_fixes() {
    let dir = common::temp_dir("tune-json");
    let report = json(&["--data-dir", dir.to_str().unwrap(), "--shards", "2"]);
    assert_eq!(report["data_dir"].as_str(), dir.to_str());
    assert_eq!(report["shards"].as_u64(), Some(2));
    let findings = report["findings"].as_array().unwrap();
    let checks: Vec<&str> = findings
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for check in MAIN_CHECKS {
        assert!(checks.contains(check), "{check} missing from {checks:?}");
    }
    let count = |s: &str| findings.iter().filter(|f| f["status"] == s).count() as u64;
    assert_eq!(report["ok"].as_u64(), Some(count("OK")));
    assert_eq!(report["warn"].as_u64(), Some(count("WARN")));
    assert_eq!(report["unknown"].as_u64(), Some(count("UNKNOWN")));
    assert_eq!(
        count("OK") + count("WARN") + count("UNKNOWN"),
        findings.len() as u64
    );
    for f in findings {
        assert!(f["current"].as_str().is_some_and(|s| !s.is_empty()), "{f}");
        assert!(
            f["recommended"].as_str().is_some_and(|s| !s.is_empty()),
            "{f}"
        );
        if f["status"] == "WARN" {
            assert!(
                !f["fix"].as_array().unwrap().is_empty(),
                "a warning without a fix: {f}"
            );
        }
    }
    // The data dir's own file system was looked at (the temp dir exists, so it is named).
    let fs = findings
        .iter()
        .find(|f| f["check"] == "data_dir.fs")
        .unwrap();
    if fs["status"] != "UNKNOWN" {
        assert!(
            fs["current"]
                .as_str()
                .unwrap()
                .contains(dir.to_str().unwrap()),
            "{fs}"
        );
    }
    // More shards than CPUs is a warning with the --shards fix.
    let report = json(&["--shards", "4096"]);
    let shards = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "cpu.shards")
        .unwrap()
        .clone();
    assert_eq!(shards["status"], "WARN", "{shards}");
}

/// A container without cpufreq, THP or some sysctls: every unreadable file is "unknown", never a crash.
#[test]
fn missing_proc_and_sys_files_are_unknown_not_errors() {
    let empty = common::temp_dir("tune-empty-root");
    let report = json(&["--sysroot", empty.to_str().unwrap()]);
    for f in report["findings"].as_array().unwrap() {
        if f["check"] != "io_uring" {
            assert_eq!(f["status"], "UNKNOWN", "{f}");
            assert!(f["current"].as_str().unwrap().starts_with("unknown"), "{f}");
        }
    }
    // A half-populated root: what is there is judged, the rest unknown.
    let root = common::temp_dir("tune-partial-root");
    std::fs::create_dir_all(root.join("proc/sys/vm")).unwrap();
    std::fs::write(root.join("proc/sys/vm/swappiness"), "60\n").unwrap();
    std::fs::create_dir_all(root.join("sys/kernel/mm/transparent_hugepage")).unwrap();
    std::fs::write(
        root.join("sys/kernel/mm/transparent_hugepage/enabled"),
        "[always] madvise never\n",
    )
    .unwrap();
    let report = json(&["--sysroot", root.to_str().unwrap()]);
    let get = |check: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check)
            .unwrap()
            .clone()
    };
    assert_eq!(get("vm.swappiness")["status"], "WARN");
    assert_eq!(get("vm.swappiness")["current"], "60");
    assert!(get("vm.swappiness")["fix"][0]
        .as_str()
        .unwrap()
        .contains("sysctl -w vm.swappiness="));
    assert_eq!(get("transparent_hugepage")["status"], "WARN");
    assert_eq!(get("transparent_hugepage")["current"], "always");
    assert_eq!(get("vm.dirty_ratio")["status"], "UNKNOWN");
}

/// The shipped sysctl.d file is exactly what `tune check` asks for: applied, every sysctl it sets is OK.
#[test]
fn the_shipped_sysctl_file_satisfies_tune_check() {
    let conf =
        std::fs::read_to_string(common::repo_root().join("tuning/sysctl.d/60-shardlog.conf"))
            .unwrap();
    let root = common::temp_dir("tune-sysctl-root");
    let mut names = Vec::new();
    for line in conf
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
    {
        let (name, value) = line.split_once('=').unwrap();
        let path = root.join("proc/sys").join(name.trim().replace('.', "/"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{}\n", value.trim())).unwrap();
        names.push(name.trim().to_string());
    }
    assert!(names.len() >= 8, "{names:?}");
    let report = json(&["--sysroot", root.to_str().unwrap()]);
    for name in &names {
        let f = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == name.as_str())
            .unwrap_or_else(|| panic!("tune check does not check {name}"));
        assert_eq!(f["status"], "OK", "{f}");
    }
}

#[test]
fn the_shipped_unit_and_irq_script_are_sane() {
    let unit =
        std::fs::read_to_string(common::repo_root().join("tuning/shardlog.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/shardlog serve --config /etc/shardlog/shardlog.toml",
        "LimitMEMLOCK=infinity",
        "LimitNOFILE=",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.contains(line), "shardlog.service lacks {line}");
    }
    let script = common::repo_root().join("tuning/irq-affinity.sh");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(syntax.success());
    // Only --help is run: anything else could touch this machine's IRQs.
    let help = Command::new("bash")
        .arg(&script)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--apply"));
}
