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
    }
}
