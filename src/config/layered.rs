//! Where each setting's value comes from: command-line flag > `SHARDLOG_*` environment variable > TOML
//! config file (`--config`, `SHARDLOG_CONFIG`) > built-in default.
//!
//! clap already orders flag > env > default, so the file simply *becomes* the default: each key in the
//! file sets its arg's `default_value` (`Command::mut_arg`) before the command line is parsed again, and
//! `ArgMatches::value_source` then says where every value came from (a `DefaultValue` the file set is
//! reported as "file").

use super::keys::{self, Kind, Setting};
use super::BrokerConfig;
use clap::parser::ValueSource;
use clap::{ArgMatches, Command, FromArgMatches};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// `serve`'s arguments (and those of every command that reads the broker's config): the config file and
/// every broker setting.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// TOML config file; keys are Kafka's broker config names where Kafka has the setting, else
    /// `shardlog.<flag name with dots>` (see docs/config-reference.md). Flags and SHARDLOG_* variables
    /// override it.
    #[arg(long, env = "SHARDLOG_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerConfig,
}

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error(
        "config file {}: unknown setting '{key}'; did you mean '{suggestion}'? \
         (`shardlog config reference` lists every setting)",
        path.display()
    )]
    UnknownKey {
        path: PathBuf,
        key: String,
        suggestion: String,
    },
    #[error("config file {}: '{key}' must be {expected}, not {found}", path.display())]
    WrongType {
        path: PathBuf,
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("config file {}: invalid value {value} for '{key}': {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        value: String,
        reason: String,
    },
    /// The command line or an environment variable is wrong (clap's own message).
    #[error("{0}")]
    Args(#[from] clap::Error),
    #[error("internal error: no subcommand {0:?} in the parsed command line")]
    NoSubcommand(Vec<String>),
}

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        }
    }
}

/// One setting's effective value.
#[derive(Clone, Debug)]
pub struct Entry {
    pub setting: Setting,
    /// `None`: unset (an optional setting nobody gave).
    pub value: Option<String>,
    pub source: Source,
}

/// The effective broker config and where each of its values came from.
#[derive(Debug)]
pub struct Resolved {
    pub broker: BrokerConfig,
    pub file: Option<PathBuf>,
    pub entries: Vec<Entry>,
}

/// Resolves the broker config of the subcommand at `path` (e.g. `["serve"]`, `["config", "print"]`)
/// of `root` from this process's command line, environment and config file. That subcommand must
/// flatten `ServeArgs`.
pub fn resolve(root: &Command, path: &[&str]) -> Result<Resolved, LoadError> {
    resolve_from(root, path, std::env::args_os().collect())
}

/// `resolve` with an explicit command line (`argv[0]` is the program name).
pub fn resolve_from(
    root: &Command,
    path: &[&str],
    argv: Vec<OsString>,
) -> Result<Resolved, LoadError> {
    let settings = keys::settings();
    // First pass: only to learn which file to read (from the flag or SHARDLOG_CONFIG).
    let first = root.clone().try_get_matches_from(&argv)?;
    let file = sub_matches(&first, path)?
        .get_one::<PathBuf>("config")
        .cloned();
    let values = match &file {
        Some(p) => read_file(p, &settings)?,
        None => BTreeMap::new(),
    };
    let cmd = with_defaults(root.clone(), path, &values);
    let matches = cmd.try_get_matches_from(&argv)?;
    let m = sub_matches(&matches, path)?;
    let mut broker = BrokerConfig::from_arg_matches(m)?;
    let entries = settings
        .into_iter()
        .map(|setting| {
            let value = m
                .get_raw(&setting.id)
                .and_then(|mut v| v.next())
                .map(|v| v.to_string_lossy().into_owned());
            let source = match m.value_source(&setting.id) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                _ if values.contains_key(&setting.id) => Source::File,
                _ => Source::Default,
            };
            Entry {
                setting,
                value,
                source,
            }
        })
        .collect::<Vec<Entry>>();
    broker.explicit_keys = entries
        .iter()
        .filter(|e| e.source != Source::Default)
        .map(|e| e.setting.key.clone())
        .collect();
    Ok(Resolved {
        broker,
        file,
        entries,
    })
}

fn sub_matches<'a>(m: &'a ArgMatches, path: &[&str]) -> Result<&'a ArgMatches, LoadError> {
    let mut m = m;
    for name in path {
        m = m
            .subcommand_matches(name)
            .ok_or_else(|| LoadError::NoSubcommand(path.iter().map(|s| s.to_string()).collect()))?;
    }
    Ok(m)
}

/// `root` with the file's values as the defaults of the subcommand at `path`.
fn with_defaults(root: Command, path: &[&str], values: &BTreeMap<String, String>) -> Command {
    match path.split_first() {
        Some((name, rest)) => root.mut_subcommand(name, |sub| with_defaults(sub, rest, values)),
        None => values.iter().fold(root, |cmd, (id, value)| {
            cmd.mut_arg(id, |a| a.default_value(value.clone()))
        }),
    }
}

/// The file's settings as (arg id → value as a command-line string), every key and value checked.
pub fn read_file(path: &Path, settings: &[Setting]) -> Result<BTreeMap<String, String>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(path, &text, settings)
}

/// `read_file` on text already read; `path` only names it in errors.
pub fn parse_file(
    path: &Path,
    text: &str,
    settings: &[Setting],
) -> Result<BTreeMap<String, String>, LoadError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let mut flat = Vec::new();
    flatten("", &table, &mut flat);
    let broker = keys::broker_command();
    let mut out = BTreeMap::new();
    for (key, value) in flat {
        let Some(setting) = settings.iter().find(|s| s.key == key) else {
            return Err(LoadError::UnknownKey {
                path: path.to_path_buf(),
                suggestion: keys::closest_key(&key, settings),
                key,
            });
        };
        let text = match (setting.kind, value) {
            (Kind::Integer, toml::Value::Integer(i)) => i.to_string(),
            (Kind::Boolean, toml::Value::Boolean(b)) => b.to_string(),
            (Kind::String, toml::Value::String(s)) => s.clone(),
            (kind, other) => {
                return Err(LoadError::WrongType {
                    path: path.to_path_buf(),
                    key,
                    expected: kind.article_name(),
                    found: toml_type(other),
                })
            }
        };
        check_value(&broker, setting, &text).map_err(|reason| LoadError::Invalid {
            path: path.to_path_buf(),
            key: key.clone(),
            value: value.to_string(),
            reason,
        })?;
        out.insert(setting.id.clone(), text);
    }
    Ok(out)
}

/// Nested tables (`[log]` + `retention.ms = 1`, or TOML's dotted keys) become dotted keys.
fn flatten<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            _ => out.push((key, v)),
        }
    }
}

fn toml_type(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Runs the setting's own clap value parser on `value` (ranges, enums, addresses), so a bad file value
/// is reported against its file key rather than as a flag the user never typed.
fn check_value(broker: &Command, setting: &Setting, value: &str) -> Result<(), String> {
    let Some(arg) = broker
        .get_arguments()
        .find(|a| a.get_id() == setting.id.as_str())
    else {
        return Ok(());
    };
    let probe = Command::new("file")
        .arg(arg.clone())
        .try_get_matches_from(["file".to_string(), format!("--{}={value}", setting.flag)]);
    match probe {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Some(source) = std::error::Error::source(&e) {
                return Err(source.to_string());
            }
            if !setting.choices.is_empty() {
                return Err(format!("expected one of {}", setting.choices.join(", ")));
            }
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            Err(first.trim_start_matches("error: ").to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BTreeMap<String, String>, LoadError> {
        parse_file(Path::new("test.toml"), text, &keys::settings())
    }

    #[test]
    fn dotted_quoted_and_sectioned_keys_all_work() {
        let v = parse(
            "num.partitions = 3\n\"log.retention.ms\" = -1\nshardlog.flush.policy = \"always\"\n\
             [log.segment]\nbytes = 1048576\n",
        )
        .unwrap();
        assert_eq!(v["num_partitions"], "3");
        assert_eq!(v["log_retention_ms"], "-1");
        assert_eq!(v["flush_policy"], "always");
        assert_eq!(v["log_segment_bytes"], "1048576");
    }

    #[test]
    fn errors_name_the_key_and_what_was_expected() {
        let e = parse("num.partition = 3").unwrap_err().to_string();
        assert!(
            e.contains("'num.partition'") && e.contains("'num.partitions'"),
            "{e}"
        );
        let e = parse("num.partitions = \"3\"").unwrap_err().to_string();
        assert!(
            e.contains("'num.partitions' must be an integer, not a string"),
            "{e}"
        );
        let e = parse("auto.create.topics.enable = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be a boolean"), "{e}");
        let e = parse("shardlog.flush.policy = \"sometimes\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("acks-all, always, interval"), "{e}");
        let e = parse("default.replication.factor = 0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("default.replication.factor"), "{e}");
        let e = parse("num.partitions = 99999999999")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'num.partitions'"), "{e}");
        let e = parse("shardlog.listen = \"nowhere\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'shardlog.listen'"), "{e}");
        let e = parse("num.partitions = ").unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
    }

    #[derive(clap::Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: TestCommand,
    }
    #[derive(clap::Subcommand)]
    enum TestCommand {
        Serve(ServeArgs),
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let dir = std::env::temp_dir().join(format!("shardlog-layered-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.toml");
        std::fs::write(
            &file,
            "num.partitions = 3\nlog.retention.ms = 5\nlog.segment.bytes = 65536\n",
        )
        .unwrap();
        let root = <TestCli as clap::CommandFactory>::command();
        let argv = |extra: &[&str]| {
            let mut v: Vec<OsString> = vec!["shardlog".into(), "serve".into()];
            v.push("--config".into());
            v.push(file.clone().into());
            v.extend(extra.iter().map(OsString::from));
            v
        };
        let r = resolve_from(&root, &["serve"], argv(&["--log-retention-ms", "7"])).unwrap();
        assert_eq!(r.broker.num_partitions, 3);
        assert_eq!(r.broker.log_retention_ms, 7);
        assert_eq!(r.broker.log_segment_bytes, 65536);
        assert_eq!(r.broker.message_max_bytes, 1_048_588);
        let source = |key: &str| {
            r.entries
                .iter()
                .find(|e| e.setting.key == key)
                .unwrap()
                .source
        };
        assert_eq!(source("num.partitions"), Source::File);
        assert_eq!(source("log.retention.ms"), Source::Flag);
        assert_eq!(source("message.max.bytes"), Source::Default);
        assert_eq!(source("shardlog.shards"), Source::Default);
        assert_eq!(r.file.as_deref(), Some(file.as_path()));
    }
}
