//! The `shardlog` binary: parses the command line and hands off. Errors become `anyhow` only here.

use clap::{Parser, Subcommand};
use shardlog::config::BrokerConfig;

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
    Serve(Box<BrokerConfig>),
    /// Load-test a Kafka-compatible broker (shardlog or Apache Kafka); see perf/README.md.
    Bench(Box<shardlog::loadgen::BenchArgs>),
    /// The operator CLI: topic, produce, consume, group, cluster (see `shardlog::cli` for exit codes).
    #[command(flatten)]
    Cli(shardlog::cli::CliCommand),
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
        Command::Serve(config) => {
            logs.init();
            shardlog::runtime::serve(*config)
        }
        // stdout may carry the JSON result: the bench logs to stderr.
        Command::Bench(args) => {
            logs.with_writer(std::io::stderr).init();
            Ok(shardlog::loadgen::bench(*args)?)
        }
        // Errors are one line with an exit code that means something (see `shardlog::cli`).
        Command::Cli(command) => {
            logs.with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .init();
            if let Err(e) = shardlog::cli::run(command) {
                eprintln!("error: {e}");
                std::process::exit(e.exit_code());
            }
            Ok(())
        }
    }
}
