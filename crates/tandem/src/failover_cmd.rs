//! `tandem failover`: a planned switchover with zero data loss. The monitor
//! pauses writes on the master, waits until the chosen replica has every byte,
//! promotes it under a new epoch, publishes the topology and repoints the rest;
//! the proxies hold requests for the moment it takes.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::client::{text, Client};
use crate::up::Layout;

/// `tandem failover` options.
#[derive(clap::Args, Debug, Clone)]
pub struct FailoverArgs {
    /// The deployment's data folder (finds the monitor in up.json).
    #[arg(long, default_value = "./tandem-data")]
    pub data: std::path::PathBuf,
    /// The monitor's admin address, instead of reading it from the data folder.
    #[arg(long)]
    pub monitor: Option<String>,
    /// The replica to promote (host:port); default: the most up-to-date one.
    #[arg(long)]
    pub to: Option<String>,
    /// Print the failover event as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: FailoverArgs) -> anyhow::Result<()> {
    let monitor = match &args.monitor {
        Some(m) => m.clone(),
        None => Layout::load(&args.data)?
            .with_context(|| {
                format!(
                    "no deployment in {} (pass --data DIR or --monitor HOST:PORT)",
                    args.data.display()
                )
            })?
            .monitor_admin(),
    };
    let mut c = Client::connect(&monitor, Duration::from_secs(30))?;
    let mut req = vec!["FAILOVER".to_string()];
    req.extend(args.to.clone());
    let reply = text(&c.call(&req)?);
    if let Some(err) = reply.strip_prefix('-') {
        bail!("the monitor refused the failover: {err}");
    }
    if args.json {
        println!("{reply}");
        return Ok(());
    }
    let ev: serde_json::Value =
        serde_json::from_str(&reply).with_context(|| format!("monitor replied {reply}"))?;
    let field = |k: &str| {
        ev.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "switched over: {} -> {} (epoch {}, {} ms)",
        field("old_master"),
        field("new_master"),
        field("epoch"),
        field("total_ms")
    );
    Ok(())
}
