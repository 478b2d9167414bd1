//! The `shardlog` binary: parses the command line and hands off. Errors become `anyhow` only here.

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "shardlog",
    version,
    about = "A Kafka-compatible streaming broker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a broker.
    Serve(Box<shardlog::config::layered::ServeArgs>),
    /// Load-test a Kafka-compatible broker (shardlog or Apache Kafka); see perf/README.md.
    Bench(Box<shardlog::loadgen::BenchArgs>),
    /// Show the effective config and the reference of every setting.
    #[command(subcommand)]
    Config(shardlog::config::cli::ConfigCommand),
    /// Check (and optionally apply) Linux tuning for a broker on this machine; see tuning/README.md.
    #[command(subcommand)]
    Tune(shardlog::tune::TuneCommand),
    /// The operator CLI: topic, produce, consume, group, cluster (see `shardlog::cli` for exit codes).
    #[command(flatten)]
    Cli(Box<shardlog::cli::CliCommand>),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false);
    match cli.command {
        Command::Serve(_) => {
            // Parsed again with the config file's values as defaults (flag > env > file > default).
            let config = shardlog::config::layered::resolve(&Cli::command(), &["serve"])?;
            let level = tracing_subscriber::EnvFilter::try_new(&config.broker.log_level)
                .with_context(|| format!("bad log level {:?}", config.broker.log_level))?;
            logs.with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or(level),
            )
            .init();
            if let Some(file) = &config.file {
                tracing::info!(file = %file.display(), "read config file");
            }
            shardlog::broker::serve(config.broker)
        }
        // stdout may carry the JSON result: the bench logs to stderr.
        Command::Bench(args) => {
            logs.with_writer(std::io::stderr).init();
            Ok(shardlog::loadgen::bench(*args)?)
        }
        Command::Config(cmd) => Ok(shardlog::config::cli::run(&cmd, &Cli::command())?),
        Command::Tune(cmd) => Ok(shardlog::tune::run(&cmd, &Cli::command())?),
        // Errors are one line with an exit code that means something (see `shardlog::cli`).
        Command::Cli(command) => {
            logs.with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .init();
            if let Err(e) = shardlog::cli::run(*command) {
                eprintln!("error: {e}");
                std::process::exit(e.exit_code());
            }
            Ok(())
        }
    }
}
