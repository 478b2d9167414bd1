//! The module layering rule of ARCHITECTURE.md §1, checked on the source: a top-level module of src/
//! may import (`crate::x`) only the modules listed before it in `LAYERS`. An import that points up
//! fails this test, and because the list is an order, no two folders can import each other (no cycle).
//! A new top-level module fails it too until it is given its place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top. Each line may use every line above it, never one below.
const LAYERS: &[&str] = &[
    "types",       // plain types: signals, replica sets, roles, voters, TLS path
    "security",    // principals, ACLs, SASL, credentials, listeners
    "config",      // every broker setting
    "metrics",     // counters and their Prometheus rendering
    "storage",     // partition logs: knows no Kafka protocol handlers and no runtime
    "client",      // a small blocking Kafka client (replication's links, cli, loadgen)
    "cluster",     // metadata images and snapshots, placement, topic configs
    "runtime",     // the mesh and sharded services, the partition table, the router
    "quorum",      // the Raft metadata log
    "replication", // followers fetching from leaders
    "coordinator", // consumer groups and committed offsets
    "controller",  // the only writer of metadata, ISR changes, broker registration and liveness
    "kafka",       // the Kafka API handlers: protocol in, calls into the services
    "net",         // listeners, connections, TLS, zero-copy sends
    "broker",      // the assembly: starts the shards and wires the services
    "tune",        // `shardlog tune`
    "loadgen",     // `shardlog bench`
    "cli",         // the operator CLI
];

/// Files at the crate root that are not layers (the crate's own root and the binary).
const ROOTS: &[&str] = &["lib.rs", "main.rs"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of src/ belongs to (`None` for the crate roots).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).expect("under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if ROOTS.contains(&first.as_str()) {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The code of a line without its `//` comment (doc comments name modules freely).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Every top-level module `text` names as `crate::name`, with the line it is on.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = code_of(line);
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// Imports that point up (or sideways into a module missing from `LAYERS`): "file:line: a -> b".
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut out = Vec::new();
    for (path, text) in files {
        let Some(module) = module_of(path) else {
            continue;
        };
        let Some(&own) = rank.get(module.as_str()) else {
            out.push(format!(
                "{}: module `{module}` has no place in LAYERS",
                path.display()
            ));
            continue;
        };
        for (line, target) in crate_paths(text) {
            if target == module {
                continue;
            }
            match rank.get(target.as_str()) {
                Some(&r) if r < own => {}
                _ => out.push(format!(
                    "{}:{line}: `{module}` imports `{target}`, which is not below it",
                    path.display()
                )),
            }
        }
    }
    out
}

fn sources() -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("reading a source file");
            (p, text)
        })
        .collect()
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let found = violations(&sources());
    assert!(
        found.is_empty(),
        "upward imports (see ARCHITECTURE.md §1, the layering rule):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let mut modules: Vec<String> = sources().iter().filter_map(|(p, _)| module_of(p)).collect();
    modules.sort();
    modules.dedup();
    for m in &modules {
        assert!(LAYERS.contains(&m.as_str()), "`{m}` is not in LAYERS");
    }
    for l in LAYERS {
        assert!(
            modules.iter().any(|m| m == l),
            "LAYERS names `{l}`, which src/ lacks"
        );
    }
}

/// The checker itself catches what it is for: an upward import, and an import in a module that has no
/// layer. (Comments are ignored.)
#[test]
fn an_upward_import_is_reported() {
    let storage = src().join("storage/log.rs");
    let upward = "use crate::kafka::SUPPORTED;\n// crate::broker in a comment is fine\n";
    let found = violations(&[(storage, upward.to_string())]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`storage` imports `kafka`"), "{found:?}");
    let downward = "use crate::types::signal::OffsetWatch;\n";
    assert!(violations(&[(src().join("storage/log.rs"), downward.into())]).is_empty());
    let unplaced = violations(&[(src().join("newthing/mod.rs"), String::new())]);
    assert_eq!(unplaced.len(), 1, "{unplaced:?}");
}

/// The Shard type (every service of a shard at once) is the broker assembly's alone: everything else
/// holds the narrow handles it needs.
#[test]
fn only_the_broker_assembly_names_the_shard() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        if module_of(&path).as_deref() == Some("broker") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            let names_shard = code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == "Shard");
            if names_shard {
                found.push(format!("{}:{}", path.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the Shard type named outside src/broker:\n{}",
        found.join("\n")
    );
}
