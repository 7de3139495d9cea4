//! `tandem drill`: a failover drill on a running deployment.
//!
//! ```text
//!  N client threads ── INCR drill:<run>:<i> (one at a time) ──> proxy ──> master
//!        │ record every acknowledged increment and its time
//!  after the warm-up: SIGKILL the master's process (pid from INFO server)
//!  after the hold: stop, read every counter, compare with what was acknowledged
//!  report: downtime (longest gap between acknowledgements), errors, lost writes
//!          (acknowledged but missing) and double applies (more than was sent)
//! ```
//!
//! A request that failed or timed out has an unknown outcome: the counter may or
//! may not include it, so a counter between `acked` and `acked + unknown` is
//! consistent; below `acked` is a lost acknowledged write; above is a double apply.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use tandem_resp::scan::Frame;

use crate::client::{info_field, text, Client};
use crate::up::Layout;

/// `tandem drill` options.
#[derive(clap::Args, Debug, Clone)]
pub struct DrillArgs {
    /// The deployment's data folder (finds the proxy and the nodes in up.json).
    #[arg(long, default_value = "./tandem-data")]
    pub data: std::path::PathBuf,
    /// Client threads writing through the proxy.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds of load before the master is killed.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Seconds of load after the kill.
    #[arg(long, default_value_t = 5.0)]
    pub after: f64,
    /// Do not kill anything (a baseline run).
    #[arg(long)]
    pub no_kill: bool,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Default)]
struct ClientLog {
    acked: u64,
    unknown: u64,
    errors: Vec<String>,
    /// Times of acknowledgements (for gaps).
    acks: Vec<Instant>,
}

/// The drill's findings.
#[derive(Debug, Serialize)]
pub struct Report {
    pub clients: usize,
    pub killed_master: Option<String>,
    pub killed_pid: Option<u32>,
    pub new_master: Option<String>,
    /// Longest time any client went without an acknowledgement, around the kill.
    pub downtime_ms: u64,
    /// From the kill to the first acknowledgement after it (any client).
    pub first_ack_after_kill_ms: Option<u64>,
    pub acknowledged_writes: u64,
    pub unknown_outcome: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub lost_writes: u64,
    pub double_applied: u64,
}

fn master_of(layout: &Layout) -> Option<(String, u32)> {
    for i in 0..layout.node_ports.len() {
        let addr = layout.node_addr(i);
        let Ok(mut c) = Client::connect(&addr, Duration::from_millis(500)) else {
            continue;
        };
        let Ok(r) = c.call(&["INFO"]) else { continue };
        let info = text(&r);
        if info_field(&info, "role").as_deref() == Some("master")
            && info_field(&info, "tandem_fenced").as_deref() != Some("1")
        {
            let pid = info_field(&info, "process_id").and_then(|p| p.parse().ok())?;
            return Some((addr, pid));
        }
    }
    None
}

fn worker(endpoint: String, key: String, stop: Arc<AtomicBool>, log: Arc<Mutex<ClientLog>>) {
    let mut conn: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Client::connect(&endpoint, Duration::from_secs(10)) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if let Ok(mut l) = log.lock() {
                        l.errors.push(e.to_string());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let res = c.call(&["INCR", key.as_str()]);
        let Ok(mut l) = log.lock() else { return };
        match res {
            Ok(Frame::Integer(_)) => {
                l.acked += 1;
                l.acks.push(Instant::now());
            }
            Ok(other) => {
                l.unknown += 1;
                l.errors.push(text(&other));
            }
            Err(e) => {
                l.unknown += 1;
                l.errors.push(e.to_string());
                conn = None;
            }
        }
    }
}

pub fn run(args: DrillArgs) -> anyhow::Result<()> {
    let layout = Layout::load(&args.data)?.with_context(|| {
        format!(
            "no deployment in {} (start one with `tandem up --data {}`)",
            args.data.display(),
            args.data.display()
        )
    })?;
    let report = drill(&layout, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if report.lost_writes > 0 || report.double_applied > 0 {
        bail!("the drill found lost or doubled writes");
    }
    Ok(())
}

pub fn drill(layout: &Layout, args: &DrillArgs) -> anyhow::Result<Report> {
    let endpoint = layout.endpoint();
    let run_id = format!("{:x}", std::process::id() as u64 ^ crate::now_ms() as u64);
    let stop = Arc::new(AtomicBool::new(false));
    let logs: Vec<Arc<Mutex<ClientLog>>> = (0..args.clients)
        .map(|_| Arc::new(Mutex::new(ClientLog::default())))
        .collect();
    let keys: Vec<String> = (0..args.clients)
        .map(|i| format!("drill:{run_id}:{i}"))
        .collect();
    let threads: Vec<_> = keys
        .iter()
        .zip(&logs)
        .map(|(k, l)| {
            let (e, k, s, l) = (endpoint.clone(), k.clone(), stop.clone(), l.clone());
            std::thread::spawn(move || worker(e, k, s, l))
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(args.warmup));
    let mut killed = None;
    let mut kill_at = None;
    if !args.no_kill {
        let (addr, pid) = master_of(layout).context("no master answers: is the deployment up?")?;
        let pid_i = i32::try_from(pid).context("pid out of range")?;
        // SAFETY: kill(2) on a pid read from the node itself; no memory is shared.
        if unsafe { libc::kill(pid_i, libc::SIGKILL) } != 0 {
            bail!(
                "could not kill the master (pid {pid}): {}",
                std::io::Error::last_os_error()
            );
        }
        kill_at = Some(Instant::now());
        killed = Some((addr, pid));
    }
    std::thread::sleep(Duration::from_secs_f64(args.after));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    // Read the counters through the proxy (it follows the new master).
    let mut c = Client::connect(&endpoint, Duration::from_secs(10))?;
    let mut report = Report {
        clients: args.clients,
        killed_master: killed.as_ref().map(|k| k.0.clone()),
        killed_pid: killed.as_ref().map(|k| k.1),
        new_master: master_of(layout).map(|m| m.0),
        downtime_ms: 0,
        first_ack_after_kill_ms: None,
        acknowledged_writes: 0,
        unknown_outcome: 0,
        errors: 0,
        error_samples: Vec::new(),
        lost_writes: 0,
        double_applied: 0,
    };
    for (k, l) in keys.iter().zip(&logs) {
        let l = l
            .lock()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        let v = match c.call(&["GET", k.as_str()])? {
            Frame::Bulk(b) => std::str::from_utf8(&b)?.parse::<u64>()?,
            Frame::Nil | Frame::Null => 0,
            other => bail!("GET {k}: {}", text(&other)),
        };
        report.acknowledged_writes += l.acked;
        report.unknown_outcome += l.unknown;
        report.errors += l.errors.len() as u64;
        for e in l.errors.iter().take(3) {
            if report.error_samples.len() < 10 && !report.error_samples.contains(e) {
                report.error_samples.push(e.clone());
            }
        }
        report.lost_writes += l.acked.saturating_sub(v);
        report.double_applied += v.saturating_sub(l.acked + l.unknown);
        let mut prev = l.acks.first().copied();
        for &t in &l.acks {
            if let Some(p) = prev {
                report.downtime_ms = report.downtime_ms.max((t - p).as_millis() as u64);
            }
            prev = Some(t);
        }
        if let Some(k) = kill_at {
            if let Some(first) = l.acks.iter().find(|&&t| t > k) {
                let ms = (*first - k).as_millis() as u64;
                report.first_ack_after_kill_ms =
                    Some(report.first_ack_after_kill_ms.map_or(ms, |m| m.min(ms)));
            }
        }
    }
    for k in &keys {
        let _ = c.call(&["DEL", k.as_str()]);
    }
    Ok(report)
}

fn print_report(r: &Report) {
    match (&r.killed_master, r.killed_pid) {
        (Some(m), Some(p)) => println!("killed master      {m} (pid {p})"),
        _ => println!("killed master      none (baseline run)"),
    }
    println!(
        "new master         {}",
        r.new_master.as_deref().unwrap_or("none answering")
    );
    println!("clients            {}", r.clients);
    println!(
        "downtime           {} ms (longest gap between acknowledgements)",
        r.downtime_ms
    );
    if let Some(ms) = r.first_ack_after_kill_ms {
        println!("first ack          {ms} ms after the kill");
    }
    println!("acknowledged       {}", r.acknowledged_writes);
    println!("unknown outcome    {}", r.unknown_outcome);
    println!("errors             {}", r.errors);
    for e in &r.error_samples {
        println!("  e.g. {e}");
    }
    println!("lost writes        {}", r.lost_writes);
    println!("double applied     {}", r.double_applied);
}
