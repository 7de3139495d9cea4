//! `tandem drill`: a failover drill on a running deployment.
//!
//! ```text
//!  N client threads ── INCR drill:<run>:<i> (one at a time) ──> proxy ──> master
//!        │ record every acknowledged increment and its time
//!  after the warm-up: SIGKILL the master's process (pid from INFO server),
//!  or freeze it (--freeze: SIGSTOP), or cut its network namespace off
//!  (--partition, a `tandem up --isolate` deployment: silence, no reset)
//!  after the hold: stop, read every counter, compare with what was acknowledged
//!  report: downtime (longest gap between acknowledgements), errors, lost writes
//!          (acknowledged but missing) and double applies (more than was sent)
//! ```
//!
//! A request that failed or timed out has an unknown outcome: the counter may or
//! may not include it, so a counter between `acked` and `acked + unknown` is
//! consistent; below `acked` is a lost acknowledged write; above is a double apply.
//! A frozen master is resumed, a partitioned one reconnected, when the load
//! stops; either must then be fenced and rejoin as a replica of the new master.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use tandem_resp::scan::Frame;

use crate::client::{info_field, text, Client};
use crate::netns::NodeNet;
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
    /// Freeze the master (SIGSTOP) instead of killing it: a silent failure, as a
    /// partition looks to its peers (no reset, just silence). It is resumed
    /// (SIGCONT) after the drill and must then be fenced and rejoin as a replica.
    /// (`--partition` cuts the network for real.)
    #[arg(long, conflicts_with = "no_kill")]
    pub freeze: bool,
    /// Cut the master off instead of killing it: the link of its network
    /// namespace goes down (a deployment started with `tandem up --isolate`; needs
    /// root), so the proxy and the monitor hear nothing, no reset. The link is
    /// restored after the drill; the master must have fenced itself, and must
    /// then rejoin as a replica with no divergent data.
    #[arg(long, conflicts_with_all = ["no_kill", "freeze", "sentinel"])]
    pub partition: bool,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
    /// Drill a Redis Sentinel deployment instead (for comparison): the Sentinel's
    /// address; clients find the master through it, as Sentinel-aware clients do.
    #[arg(long)]
    pub sentinel: Option<String>,
    /// Seconds to wait for the killed master to rejoin as a replica.
    #[arg(long, default_value_t = 30.0)]
    pub rejoin_timeout: f64,
    /// The master name the Sentinel monitors.
    #[arg(long, default_value = "mymaster")]
    pub master_name: String,
}

/// What is drilled: a Tandem deployment (clients use the proxy) or a Redis
/// Sentinel deployment (clients ask the Sentinel for the master on every
/// reconnect).
pub enum Target {
    Tandem(Layout),
    Sentinel { sentinel: String, name: String },
}

impl Target {
    /// Where a client connects now.
    fn endpoint(&self) -> Option<String> {
        match self {
            Target::Tandem(l) => Some(l.endpoint()),
            Target::Sentinel { sentinel, name } => {
                let mut c = Client::connect(sentinel, Duration::from_secs(1)).ok()?;
                match c
                    .call(&["SENTINEL", "get-master-addr-by-name", name])
                    .ok()?
                {
                    Frame::Array(v) if v.len() == 2 => {
                        Some(format!("{}:{}", text(&v[0]), text(&v[1])))
                    }
                    _ => None,
                }
            }
        }
    }

    /// The current master's address and process id.
    fn master(&self) -> Option<(String, u32)> {
        let addr = match self {
            Target::Tandem(l) => l.node_addr(l.current_master()?),
            Target::Sentinel { .. } => self.endpoint()?,
        };
        let mut c = Client::connect(&addr, Duration::from_millis(500)).ok()?;
        let info = text(&c.call(&["INFO", "server"]).ok()?);
        let pid = info_field(&info, "process_id")?.parse().ok()?;
        Some((addr, pid))
    }
}

#[derive(Default)]
struct ClientLog {
    acked: u64,
    unknown: u64,
    /// (when the request was sent, the error the client saw).
    errors: Vec<(Instant, String)>,
    /// (sent, acknowledged) of every acknowledged write.
    acks: Vec<(Instant, Instant)>,
}

/// The drill's findings.
#[derive(Debug, Serialize)]
pub struct Report {
    pub clients: usize,
    /// What was done to the master: `kill`, `freeze`, `partition` or `none`.
    pub fault: &'static str,
    pub killed_master: Option<String>,
    pub killed_pid: Option<u32>,
    pub new_master: Option<String>,
    /// Longest time any client went without an acknowledgement, around the kill.
    pub downtime_ms: u64,
    /// From the kill (freeze, cut) to the first acknowledgement of a write sent
    /// after it (any client): when service was back.
    pub first_write_after_kill_ms: Option<u64>,
    /// From the kill to the monitor publishing the new topology (its failover
    /// event; Tandem deployments): detection plus promotion, without the proxy.
    pub failover_published_ms: Option<u64>,
    /// Errors for requests sent after the kill (the promise: none in sync mode).
    pub errors_after_kill: u64,
    pub acknowledged_writes: u64,
    pub unknown_outcome: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub lost_writes: u64,
    /// The replication lag just before the fault: the master's stream offset
    /// minus what the replica that was then promoted had applied (Tandem
    /// deployments). In async mode this is what a failover may lose.
    pub lag_at_kill_bytes: Option<u64>,
    /// The most acknowledged writes the failover can have lost: the writes that
    /// fit in `lag_at_kill_bytes`, plus those acknowledged between that sample
    /// and the fault. `lost_writes` never exceeds it (async mode's promise;
    /// sync mode promises 0).
    pub lost_writes_bound: Option<u64>,
    pub double_applied: u64,
    /// Whether the killed master came back as a replica of the new one (Tandem
    /// deployments: `tandem up` restarts it), and how long after the kill.
    pub old_master_rejoined: Option<bool>,
    pub rejoin_ms: Option<u64>,
    /// Whether the rejoined old master holds exactly the new master's counters
    /// (no divergent write of its own survived), once it has caught up.
    pub old_master_consistent: Option<bool>,
}

fn worker(target: Arc<Target>, key: String, stop: Arc<AtomicBool>, log: Arc<Mutex<ClientLog>>) {
    let mut conn: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match target
                .endpoint()
                .ok_or_else(|| "no master address".to_string())
                .and_then(|e| {
                    Client::connect(&e, Duration::from_secs(10)).map_err(|e| e.to_string())
                }) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if let Ok(mut l) = log.lock() {
                        l.errors.push((Instant::now(), e));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let sent = Instant::now();
        let res = c.call(&["INCR", key.as_str()]);
        let Ok(mut l) = log.lock() else { return };
        match res {
            Ok(Frame::Integer(_)) => {
                l.acked += 1;
                l.acks.push((sent, Instant::now()));
            }
            Ok(other) => {
                let t = text(&other);
                // A demoted master refuses writes: not applied, find the master again.
                if t.starts_with("-READONLY") {
                    conn = None;
                } else {
                    l.unknown += 1;
                }
                l.errors.push((sent, t));
            }
            Err(e) => {
                l.unknown += 1;
                l.errors.push((sent, e.to_string()));
                conn = None;
            }
        }
    }
}

pub fn run(args: DrillArgs) -> anyhow::Result<()> {
    let target = match &args.sentinel {
        Some(s) => Target::Sentinel {
            sentinel: s.clone(),
            name: args.master_name.clone(),
        },
        None => Target::Tandem(Layout::load(&args.data)?.with_context(|| {
            format!(
                "no deployment in {} (start one with `tandem up --data {}`)",
                args.data.display(),
                args.data.display()
            )
        })?),
    };
    if args.partition {
        crate::netns::check_privileges("tandem drill --partition")?;
        match &target {
            Target::Tandem(l) if !l.netns.is_empty() => {}
            _ => bail!(
                "--partition needs a deployment whose nodes run in network namespaces: \
                 start it with `tandem up --isolate --data {}`",
                args.data.display()
            ),
        }
    }
    let report = drill(target, &args)?;
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

pub fn drill(target: Target, args: &DrillArgs) -> anyhow::Result<Report> {
    let target = Arc::new(target);
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
            let (e, k, s, l) = (target.clone(), k.clone(), stop.clone(), l.clone());
            std::thread::spawn(move || worker(e, k, s, l))
        })
        .collect();
    // Ctrl-C must not leave the master frozen or cut off: it ends the load early,
    // the master is resumed or reconnected, and the drill stops there. A second
    // Ctrl-C exits at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, interrupted.clone())?;
        signal_hook::flag::register(sig, interrupted.clone())?;
    }
    pause(Duration::from_secs_f64(args.warmup), &interrupted);
    let mut killed = None;
    let mut kill_at = None;
    let mut cut = None;
    let mut kill_unix_ms = 0;
    let mut lag = None;
    if !args.no_kill && !interrupted.load(Ordering::SeqCst) {
        if let Target::Tandem(l) = target.as_ref() {
            lag = LagSample::take(l);
        }
        let injected = inject(&target, args);
        if injected.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        let (addr, pid, c) = injected?;
        kill_at = Some(Instant::now());
        kill_unix_ms = crate::now_ms();
        killed = Some((addr, pid));
        cut = c;
    }
    pause(Duration::from_secs_f64(args.after), &interrupted);
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    if let (true, Some((_, pid))) = (args.freeze, &killed) {
        // SAFETY: as above; resumes the frozen master so it can be fenced and rejoin.
        unsafe { libc::kill(*pid as i32, libc::SIGCONT) };
    }
    // Reconnects the partitioned master so it can be fenced and rejoin.
    drop(cut);
    if interrupted.load(Ordering::SeqCst) {
        bail!("interrupted (a frozen or cut-off master was resumed or reconnected)");
    }
    // Read the counters through the proxy (it follows the new master).
    let endpoint = target
        .endpoint()
        .context("no master address after the drill")?;
    let mut c = Client::connect(&endpoint, Duration::from_secs(10))?;
    let mut report = Report {
        clients: args.clients,
        fault: match (args.no_kill, args.freeze, args.partition) {
            (true, _, _) => "none",
            (_, true, _) => "freeze",
            (_, _, true) => "partition",
            _ => "kill",
        },
        killed_master: killed.as_ref().map(|k| k.0.clone()),
        killed_pid: killed.as_ref().map(|k| k.1),
        new_master: target.master().map(|m| m.0),
        downtime_ms: 0,
        first_write_after_kill_ms: None,
        failover_published_ms: None,
        errors_after_kill: 0,
        acknowledged_writes: 0,
        unknown_outcome: 0,
        errors: 0,
        error_samples: Vec::new(),
        lost_writes: 0,
        lag_at_kill_bytes: None,
        lost_writes_bound: None,
        double_applied: 0,
        old_master_rejoined: None,
        rejoin_ms: None,
        old_master_consistent: None,
    };
    let mut values = Vec::with_capacity(keys.len());
    for (k, l) in keys.iter().zip(&logs) {
        let l = l
            .lock()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        let v = match c.call(&["GET", k.as_str()])? {
            Frame::Bulk(b) => std::str::from_utf8(&b)?.parse::<u64>()?,
            Frame::Nil | Frame::Null => 0,
            other => bail!("GET {k}: {}", text(&other)),
        };
        values.push(v);
        report.acknowledged_writes += l.acked;
        report.unknown_outcome += l.unknown;
        report.errors += l.errors.len() as u64;
        for (_, e) in l.errors.iter().take(3) {
            if report.error_samples.len() < 10 && !report.error_samples.contains(e) {
                report.error_samples.push(e.clone());
            }
        }
        report.lost_writes += l.acked.saturating_sub(v);
        report.double_applied += v.saturating_sub(l.acked + l.unknown);
        let mut prev = l.acks.first().map(|a| a.1);
        for &(_, t) in &l.acks {
            if let Some(p) = prev {
                report.downtime_ms = report.downtime_ms.max((t - p).as_millis() as u64);
            }
            prev = Some(t);
        }
        if let Some(k) = kill_at {
            report.errors_after_kill +=
                l.errors.iter().filter(|(sent, _)| *sent > k).count() as u64;
            if let Some((_, first)) = l.acks.iter().find(|(sent, _)| *sent >= k) {
                let ms = (*first - k).as_millis() as u64;
                report.first_write_after_kill_ms =
                    Some(report.first_write_after_kill_ms.map_or(ms, |m| m.min(ms)));
            }
        }
    }
    if let (Target::Tandem(l), Some((old, _))) = (target.as_ref(), &killed) {
        report.failover_published_ms = failover_published(l, old, kill_unix_ms);
    }
    if let (Some(s), Some(new), Some(k)) = (&lag, &report.new_master, kill_at) {
        if let Some(lag_bytes) = s.lag_to(new) {
            // Acknowledged after the sample and before the fault: maybe not in
            // the sampled offset, so counted whole.
            let mut later = 0u64;
            for l in &logs {
                let l = l
                    .lock()
                    .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
                later += l.acks.iter().filter(|(_, t)| *t > s.at && *t <= k).count() as u64;
            }
            let per_write = keys.iter().map(|k| incr_stream_bytes(k)).min().unwrap_or(1);
            report.lag_at_kill_bytes = Some(lag_bytes);
            report.lost_writes_bound = Some(lag_bytes.div_ceil(per_write) + later);
        }
    }
    if let (Target::Tandem(_), Some(k), Some((old, _)), Some(new)) =
        (target.as_ref(), kill_at, &killed, &report.new_master)
    {
        let deadline = Instant::now() + Duration::from_secs_f64(args.rejoin_timeout);
        let mut rejoined = false;
        while Instant::now() < deadline {
            if follows(old, new) {
                rejoined = true;
                report.rejoin_ms = Some(k.elapsed().as_millis() as u64);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        report.old_master_rejoined = Some(rejoined);
        if rejoined {
            report.old_master_consistent =
                Some(holds(old, &keys, &values, Duration::from_secs(10)));
        }
    }
    for k in &keys {
        let _ = c.call(&["DEL", k.as_str()]);
    }
    Ok(report)
}

/// The replication state just before the fault: what each replica had applied,
/// then (read after them, so the lag is never underestimated) the master's offset.
struct LagSample {
    /// When the master was asked: writes acknowledged before are in its offset.
    at: Instant,
    master_offset: u64,
    replicas: Vec<(String, u64)>,
}

impl LagSample {
    fn take(l: &Layout) -> Option<LagSample> {
        let offset = |addr: &str| -> Option<u64> {
            let mut c = Client::connect(addr, Duration::from_millis(300)).ok()?;
            let info = text(&c.call(&["INFO", "replication"]).ok()?);
            info_field(&info, "master_repl_offset")?.parse().ok()
        };
        let master = l.current_master()?;
        let replicas = (0..l.node_ports.len())
            .filter(|&i| i != master)
            .filter_map(|i| Some((l.node_addr(i), offset(&l.node_addr(i))?)))
            .collect();
        let at = Instant::now();
        let master_offset = offset(&l.node_addr(master))?;
        Some(LagSample {
            at,
            master_offset,
            replicas,
        })
    }

    /// The lag of the replica at `addr`, if it was sampled.
    fn lag_to(&self, addr: &str) -> Option<u64> {
        let (_, applied) = self.replicas.iter().find(|(a, _)| a == addr)?;
        Some(self.master_offset.saturating_sub(*applied))
    }
}

/// Bytes one `INCR key` takes in the replication stream (RESP, as propagated):
/// the lag divided by the smallest of these bounds the writes it holds.
fn incr_stream_bytes(key: &str) -> u64 {
    let bulk = |s: &str| 1 + s.len().to_string().len() + 2 + s.len() + 2;
    (4 + bulk("INCR") + bulk(key)) as u64
}

/// From `since` (unix ms) to the publication of the monitor's failover away
/// from `old` that started after it.
fn failover_published(l: &Layout, old: &str, since: i64) -> Option<u64> {
    let mut c = Client::connect(&l.monitor_admin(), Duration::from_millis(500)).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text(&c.call(&["STATUS"]).ok()?)).ok()?;
    doc.get("events")?
        .as_array()?
        .iter()
        .filter(|e| e["old_master"] == old && e["outcome"] == "published")
        .filter_map(|e| Some(e["started_at"].as_i64()? + e["total_ms"].as_i64()?))
        .filter(|&done| done >= since)
        .min()
        .map(|done| (done - since) as u64)
}

/// Sleeps `d`, or less if `interrupted` becomes true.
fn pause(d: Duration, interrupted: &AtomicBool) {
    let end = Instant::now() + d;
    while !interrupted.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// A master cut off by `--partition`; dropping it heals the link.
struct Partition(NodeNet);

impl Drop for Partition {
    fn drop(&mut self) {
        if let Err(e) = self.0.heal() {
            tracing::error!("healing the partition of {}: {e:#}", self.0.ns);
        }
    }
}

/// Kills, freezes or cuts off the current master; its address and pid, and the
/// partition to heal.
fn inject(target: &Target, args: &DrillArgs) -> anyhow::Result<(String, u32, Option<Partition>)> {
    let (addr, pid) = target
        .master()
        .context("no master answers: is the deployment up?")?;
    if args.partition {
        let net = match target {
            Target::Tandem(l) => (0..l.node_ports.len())
                .find(|&i| l.node_addr(i) == addr)
                .and_then(|i| l.netns.get(i)),
            Target::Sentinel { .. } => None,
        }
        .with_context(|| format!("the master {addr} has no network namespace"))?
        .clone();
        net.cut()
            .with_context(|| format!("cutting off the master {addr}"))?;
        return Ok((addr, pid, Some(Partition(net))));
    }
    let pid_i = i32::try_from(pid).context("pid out of range")?;
    let sig = if args.freeze {
        libc::SIGSTOP
    } else {
        libc::SIGKILL
    };
    // SAFETY: kill(2) on a pid read from the node itself; no memory is shared.
    if unsafe { libc::kill(pid_i, sig) } != 0 {
        bail!(
            "could not kill the master (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok((addr, pid, None))
}

/// True once `node` answers every key with the value in `values` (0: absent)
/// within `wait`: a replica that caught up holds the master's data, nothing else.
fn holds(node: &str, keys: &[String], values: &[u64], wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let same = Client::connect(node, Duration::from_millis(300)).is_ok_and(|mut c| {
            keys.iter()
                .zip(values)
                .all(|(k, &want)| match c.call(&["GET", k.as_str()]) {
                    Ok(Frame::Bulk(b)) => {
                        std::str::from_utf8(&b).ok().and_then(|t| t.parse().ok()) == Some(want)
                    }
                    Ok(Frame::Nil | Frame::Null) => want == 0,
                    _ => false,
                })
        });
        if same || Instant::now() > deadline {
            return same;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True if `node` is a replica of `master` with its link up.
fn follows(node: &str, master: &str) -> bool {
    let Ok(mut c) = Client::connect(node, Duration::from_millis(300)) else {
        return false;
    };
    let Ok(r) = c.call(&["INFO", "replication"]) else {
        return false;
    };
    let info = text(&r);
    let m = format!(
        "{}:{}",
        info_field(&info, "master_host").unwrap_or_default(),
        info_field(&info, "master_port").unwrap_or_default()
    );
    info_field(&info, "role").as_deref() == Some("slave")
        && info_field(&info, "master_link_status").as_deref() == Some("up")
        && m == master
}

fn print_report(r: &Report) {
    match (&r.killed_master, r.killed_pid) {
        (Some(m), Some(p)) if r.fault == "partition" => {
            println!("cut off master     {m} (pid {p}, its namespace's link down)")
        }
        (Some(m), Some(p)) if r.fault == "freeze" => {
            println!("frozen master      {m} (pid {p})")
        }
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
    if let Some(ms) = r.failover_published_ms {
        println!("new topology       {ms} ms after the kill (the monitor's failover)");
    }
    if let Some(ms) = r.first_write_after_kill_ms {
        println!("first write        {ms} ms after the kill (sent after it, acknowledged)");
    }
    println!("errors after kill  {}", r.errors_after_kill);
    println!("acknowledged       {}", r.acknowledged_writes);
    println!("unknown outcome    {}", r.unknown_outcome);
    println!("errors             {}", r.errors);
    for e in &r.error_samples {
        println!("  e.g. {e}");
    }
    println!("lost writes        {}", r.lost_writes);
    if let (Some(lag), Some(bound)) = (r.lag_at_kill_bytes, r.lost_writes_bound) {
        println!("lag at the kill    {lag} bytes: at most {bound} acknowledged writes at risk");
    }
    println!("double applied     {}", r.double_applied);
    match (r.old_master_rejoined, r.rejoin_ms) {
        (Some(true), Some(ms)) => {
            println!("old master         rejoined as a replica {ms} ms after the kill")
        }
        (Some(false), _) => println!("old master         NOT back as a replica"),
        _ => {}
    }
    match r.old_master_consistent {
        Some(true) => println!("old master data    the same as the new master's"),
        Some(false) => println!("old master data    DIVERGES from the new master's"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incr_stream_bytes_is_the_propagated_length() {
        let key = "drill:1f:12";
        let wire = format!("*2\r\n$4\r\nINCR\r\n${}\r\n{key}\r\n", key.len());
        assert_eq!(incr_stream_bytes(key), wire.len() as u64);
    }
}
