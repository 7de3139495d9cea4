//! `tandem status`: the topology, each node's role, epoch, offset, lag and link
//! state, and the recent failover events — a table for people, `--json` for
//! programs.
//!
//! The topology and the events come from the monitor (`STATUS` on its admin
//! port, a JSON document); the per-node figures come from the nodes themselves
//! (`INFO replication`), so a node the monitor cannot see still shows up, marked
//! unreachable.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::client::{info_field, text, Client};
use crate::up::Layout;

/// `tandem status` options.
#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    /// The deployment's data folder (finds the monitor and the nodes in up.json).
    #[arg(long, default_value = "./tandem-data")]
    pub data: std::path::PathBuf,
    /// The monitor's admin address, instead of reading it from the data folder.
    #[arg(long)]
    pub monitor: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One node as `status` shows it.
#[derive(Debug, Serialize, Default)]
pub struct NodeStatus {
    pub addr: String,
    pub reachable: bool,
    pub role: String,
    pub epoch: Option<u64>,
    pub fenced: bool,
    pub offset: Option<u64>,
    /// Bytes behind the master (replicas).
    pub lag_bytes: Option<u64>,
    pub link: Option<String>,
    pub master: Option<String>,
}

/// Everything `status` prints.
#[derive(Debug, Serialize)]
pub struct Status {
    pub endpoint: Option<String>,
    pub monitor: String,
    /// The monitor's own document (topology, events, counters), if it answered.
    pub monitor_status: Option<Value>,
    pub monitor_error: Option<String>,
    pub nodes: Vec<NodeStatus>,
}

fn node_status(addr: &str) -> NodeStatus {
    let mut n = NodeStatus {
        addr: addr.to_string(),
        ..NodeStatus::default()
    };
    let Ok(mut c) = Client::connect(addr, Duration::from_millis(500)) else {
        n.role = "unreachable".into();
        return n;
    };
    let Ok(r) = c.call(&["INFO", "replication"]) else {
        n.role = "unreachable".into();
        return n;
    };
    let info = text(&r);
    n.reachable = true;
    n.role = info_field(&info, "role").unwrap_or_else(|| "?".into());
    n.epoch = info_field(&info, "tandem_epoch").and_then(|v| v.parse().ok());
    n.fenced = info_field(&info, "tandem_fenced").as_deref() == Some("1");
    n.offset = info_field(&info, "master_repl_offset").and_then(|v| v.parse().ok());
    if n.role == "slave" {
        n.role = "replica".into();
        n.offset = info_field(&info, "slave_repl_offset")
            .and_then(|v| v.parse().ok())
            .or(n.offset);
        n.link = info_field(&info, "master_link_status");
        n.master = match (
            info_field(&info, "master_host"),
            info_field(&info, "master_port"),
        ) {
            (Some(h), Some(p)) => Some(format!("{h}:{p}")),
            _ => None,
        };
    }
    n
}

pub fn collect(args: &StatusArgs) -> anyhow::Result<Status> {
    let layout = Layout::load(&args.data)?;
    let monitor = match (&args.monitor, &layout) {
        (Some(m), _) => m.clone(),
        (None, Some(l)) => l.monitor_admin(),
        (None, None) => anyhow::bail!(
            "no deployment in {} (pass --data DIR or --monitor HOST:PORT)",
            args.data.display()
        ),
    };
    let (monitor_status, monitor_error) = match Client::connect(&monitor, Duration::from_secs(2))
        .and_then(|mut c| c.call(&["STATUS"]))
    {
        Ok(f) => {
            let t = text(&f);
            match serde_json::from_str::<Value>(&t) {
                Ok(v) => (Some(v), None),
                Err(_) => (None, Some(t)),
            }
        }
        Err(e) => (None, Some(e.to_string())),
    };
    // Nodes: those the topology names, else those of the local layout.
    let mut addrs: Vec<String> = Vec::new();
    if let Some(shards) = monitor_status
        .as_ref()
        .and_then(|v| v.pointer("/topology/shards"))
        .and_then(Value::as_array)
    {
        for s in shards {
            if let Some(a) = s.pointer("/master/addr").and_then(Value::as_str) {
                addrs.push(a.to_string());
            }
            for r in s
                .get("replicas")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(a) = r.get("addr").and_then(Value::as_str) {
                    addrs.push(a.to_string());
                }
            }
        }
    }
    if let Some(l) = &layout {
        for i in 0..l.node_ports.len() {
            let a = l.node_addr(i);
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
    }
    let mut nodes: Vec<NodeStatus> = addrs.iter().map(|a| node_status(a)).collect();
    let master_offset = nodes
        .iter()
        .find(|n| n.role == "master" && !n.fenced)
        .and_then(|n| n.offset);
    for n in &mut nodes {
        if n.role == "replica" {
            n.lag_bytes = match (master_offset, n.offset) {
                (Some(m), Some(o)) => Some(m.saturating_sub(o)),
                _ => None,
            };
        }
    }
    Ok(Status {
        endpoint: layout.as_ref().map(Layout::endpoint),
        monitor,
        monitor_status,
        monitor_error,
        nodes,
    })
}

pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let st = collect(&args)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&st).context("encoding the status")?
        );
        return Ok(());
    }
    if let Some(e) = &st.endpoint {
        println!("endpoint  {e}");
    }
    match (&st.monitor_status, &st.monitor_error) {
        (Some(v), _) => {
            let epoch = v.pointer("/topology/epoch").map(Value::to_string);
            let master = v
                .pointer("/topology/shards/0/master/addr")
                .and_then(Value::as_str);
            println!(
                "monitor   {}  epoch {}  master {}",
                st.monitor,
                epoch.as_deref().unwrap_or("?"),
                master.unwrap_or("?")
            );
        }
        (None, Some(e)) => println!("monitor   {}  UNREACHABLE ({e})", st.monitor),
        (None, None) => {}
    }
    println!();
    println!(
        "{:<22} {:<12} {:>6} {:>14} {:>10} {:<6} MASTER",
        "NODE", "ROLE", "EPOCH", "OFFSET", "LAG", "LINK"
    );
    let dash = || "-".to_string();
    for n in &st.nodes {
        let role = if n.fenced {
            format!("{} fenced", n.role)
        } else {
            n.role.clone()
        };
        println!(
            "{:<22} {:<12} {:>6} {:>14} {:>10} {:<6} {}",
            n.addr,
            role,
            n.epoch.map_or_else(dash, |e| e.to_string()),
            n.offset.map_or_else(dash, |o| o.to_string()),
            n.lag_bytes.map_or_else(dash, |l| l.to_string()),
            n.link.clone().unwrap_or_else(dash),
            n.master.clone().unwrap_or_else(dash),
        );
    }
    let events = st
        .monitor_status
        .as_ref()
        .and_then(|v| v.get("events"))
        .and_then(Value::as_array);
    println!();
    match events {
        Some(ev) if !ev.is_empty() => {
            println!("recent failovers:");
            for e in ev.iter().rev().take(10) {
                println!("  {}", summarize_event(e));
            }
        }
        _ => println!("no failover recorded"),
    }
    Ok(())
}

/// One line per failover event, whatever fields the monitor recorded.
fn summarize_event(e: &Value) -> String {
    let get = |k: &str| {
        e.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    let mut parts = Vec::new();
    for k in [
        "started_at",
        "reason",
        "old_master",
        "new_master",
        "epoch",
        "total_ms",
    ] {
        if let Some(v) = get(k) {
            parts.push(format!("{k}={v}"));
        }
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(" ")
    }
}
