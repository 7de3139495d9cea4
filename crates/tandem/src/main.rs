//! The `tandem` binary: `tandem server [CONFIG_FILE] [--name value ...]` (the same
//! arguments as `redis-server`), `tandem up` (a whole local deployment), `tandem
//! status`, `tandem drill`, `tandem --version`.

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

mod client;
mod drill;
mod failover_cmd;
mod netns;
mod proxy_cmd;
mod signals;
mod status;
mod up;

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "A Redis-compatible store with automatic disaster recovery"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at startup
enum Cmd {
    /// Run a data node. Arguments as redis-server: an optional config file, then
    /// `--name value [value ...]` settings.
    Server {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the access layer: a Redis protocol proxy in front of the master (and
    /// replicas) that holds requests through a failover.
    Proxy(proxy_cmd::ProxyCmd),
    /// Start a whole local deployment (master, replicas, monitor, proxy) and print
    /// the endpoint to give to clients. Ctrl-C stops it.
    Up(up::UpArgs),
    /// Show the topology, roles, epochs, offsets, lag and recent failovers.
    Status(status::StatusArgs),
    /// Failover drill on a running deployment: load, kill the master, report
    /// downtime, errors and lost writes.
    Drill(drill::DrillArgs),
    /// Planned switchover to a replica with zero data loss (writes pause briefly).
    Failover(failover_cmd::FailoverArgs),
    /// Run a monitor: heartbeats, failure detection, promotion, fencing; hosts
    /// the embedded routing store unless given --routing.
    Monitor(tandem_monitor::cli::MonitorArgs),
}

/// Logging for the operator commands: to stderr, so stdout stays for results.
fn init_operator_logs() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn level(loglevel: &str) -> tracing::Level {
    match loglevel {
        "debug" => tracing::Level::TRACE,
        "verbose" => tracing::Level::DEBUG,
        "warning" => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Proxy(args) => proxy_cmd::run(args),
        Cmd::Up(a) => {
            init_operator_logs();
            up::run(a)
        }
        Cmd::Status(a) => status::run(a),
        Cmd::Drill(a) => drill::run(a),
        Cmd::Failover(a) => failover_cmd::run(a),
        Cmd::Monitor(a) => {
            init_operator_logs();
            Ok(tandem_monitor::cli::run(a)?)
        }
        Cmd::Server { args } => {
            let mut cfg = match tandem_server::Config::from_args(&args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            cfg.handle_signals = true;
            let logfile = cfg.str("logfile").to_string();
            let lvl = level(cfg.str("loglevel"));
            let builder = tracing_subscriber::fmt()
                .with_max_level(lvl)
                .with_target(false);
            if logfile.is_empty() {
                builder.with_ansi(std::io::stdout().is_terminal()).init();
            } else {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&logfile)
                    .map_err(|e| anyhow::anyhow!("can't open the log file {logfile}: {e}"))?;
                builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(f))
                    .init();
            }
            tracing::info!(
                "Tandem {} starting (Redis {} compatible), pid={}",
                env!("CARGO_PKG_VERSION"),
                "7.0",
                std::process::id()
            );
            let handle = match tandem_server::start(cfg) {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            if let Err(e) = handle.wait() {
                // A dataset that cannot be loaded: as Redis, exit 1 after the
                // reason is logged.
                eprintln!("{e}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
