//! `shardlog config print` and `shardlog config reference`.

use super::keys;
use super::layered::{self, LoadError, ServeArgs};
use super::render;
use clap::{Command, Subcommand, ValueEnum};

#[derive(Subcommand, Clone, Debug)]
pub enum ConfigCommand {
    /// Print the effective broker config (what `serve` with the same flags, environment and file would
    /// run with): every setting, its value, and where it came from (default, file, env, flag).
    Print(Box<PrintArgs>),
    /// Print the reference of every setting (key, flag, environment variable, default, description) as
    /// Markdown (docs/config-reference.md), or as an example config file with `--format toml`
    /// (docs/shardlog.toml).
    Reference {
        #[arg(long, value_enum, default_value_t = ReferenceFormat::Markdown)]
        format: ReferenceFormat,
    },
}

#[derive(clap::Args, Clone, Debug)]
pub struct PrintArgs {
    /// `table` for people; `toml` is a config file that `--config` loads back.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrintFormat {
    Table,
    Toml,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReferenceFormat {
    Markdown,
    Toml,
}

/// Runs a `config` subcommand; `root` is the whole program's clap command (`Cli::command()`), which
/// `print` parses again with the config file's values as defaults.
pub fn run(command: &ConfigCommand, root: &Command) -> Result<(), LoadError> {
    let out = match command {
        ConfigCommand::Print(args) => {
            let resolved = layered::resolve(root, &["config", "print"])?;
            match args.format {
                PrintFormat::Table => render::table(&resolved),
                PrintFormat::Toml => render::toml(&resolved),
            }
        }
        ConfigCommand::Reference { format } => match format {
            ReferenceFormat::Markdown => render::markdown(&keys::settings()),
            ReferenceFormat::Toml => render::example(&keys::settings()),
        },
    };
    print!("{out}");
    Ok(())
}
