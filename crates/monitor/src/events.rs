//! Failover events and counters: what happened, why, on whose evidence, and how
//! long each step took.
//!
//! Every failover (automatic or planned) becomes one [`FailoverEvent`]: logged
//! with `tracing`, appended as one JSON line to `DATA/events.jsonl` (so history
//! survives a monitor restart and can be read with `jq`), and kept in a bounded
//! in-memory list that `STATUS` returns. [`Stats`] are plain atomic counters.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tandem_routing::Epoch;

use crate::decide::Standing;

/// Events kept in memory for STATUS (the file keeps all of them).
const RECENT_EVENTS: usize = 32;

/// Milliseconds each failover step took.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct StepDurations {
    /// First failed probe (or the planned request) to the decision.
    pub detect_ms: u64,
    /// Fresh look at the replicas and the choice.
    pub elect_ms: u64,
    /// Epoch set and REPLICAOF NO ONE on the candidate.
    pub promote_ms: u64,
    /// Compare-and-set of the new topology.
    pub publish_ms: u64,
    /// Other replicas (and the old master, if reachable) pointed at the new one.
    pub reconfigure_ms: u64,
    /// Planned switchover only: writes paused until the target caught up.
    pub catch_up_ms: u64,
    /// Planned switchover only: the whole write pause on the old master (catch
    /// up, promote, publish, demote), CLIENT PAUSE to CLIENT UNPAUSE.
    pub paused_ms: u64,
}

/// One failover, automatic or planned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailoverEvent {
    pub id: String,
    /// Unix milliseconds when the failure was first seen (or the switch asked).
    pub started_at: i64,
    /// "master-down" or "switchover".
    pub reason: String,
    /// The observers whose reports made the quorum.
    pub evidence: Vec<String>,
    pub monitor: String,
    pub old_master: String,
    pub new_master: Option<String>,
    pub epoch: Option<Epoch>,
    /// Each replica's offset and why it was skipped, if it was.
    pub candidates: Vec<Standing>,
    pub steps: StepDurations,
    /// Detection start to topology published (ms).
    pub total_ms: u64,
    /// "published", "superseded" (another writer published first), or "failed: ...".
    pub outcome: String,
    /// Step retries and notes (a stock Redis without TANDEM commands...).
    pub notes: Vec<String>,
}

/// Counters exposed through STATUS.
#[derive(Debug, Default)]
pub struct Stats {
    pub heartbeats: AtomicU64,
    pub heartbeat_failures: AtomicU64,
    pub failures_detected: AtomicU64,
    pub failovers: AtomicU64,
    pub failovers_failed: AtomicU64,
    pub switchovers: AtomicU64,
    pub fixes_applied: AtomicU64,
    pub last_failover_ms: AtomicU64,
    pub total_failover_ms: AtomicU64,
    pub reports_failed: AtomicU64,
}

impl Stats {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A JSON object of every counter.
    pub fn to_json(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "heartbeats": g(&self.heartbeats),
            "heartbeat_failures": g(&self.heartbeat_failures),
            "failures_detected": g(&self.failures_detected),
            "failovers": g(&self.failovers),
            "failovers_failed": g(&self.failovers_failed),
            "switchovers": g(&self.switchovers),
            "fixes_applied": g(&self.fixes_applied),
            "last_failover_ms": g(&self.last_failover_ms),
            "total_failover_ms": g(&self.total_failover_ms),
            "reports_failed": g(&self.reports_failed),
        })
    }
}

/// The recent events plus the append-only file.
pub struct EventLog {
    recent: Mutex<VecDeque<FailoverEvent>>,
    file: Option<PathBuf>,
}

impl EventLog {
    /// Opens the log, reloading the last events of `DIR/events.jsonl` so
    /// STATUS shows history across monitor restarts (bad lines are skipped).
    pub fn new(dir: Option<PathBuf>) -> EventLog {
        let file = dir.map(|d| d.join("events.jsonl"));
        let mut recent = VecDeque::new();
        if let Some(text) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
            for line in text.lines() {
                if let Ok(ev) = serde_json::from_str::<FailoverEvent>(line) {
                    if recent.len() == RECENT_EVENTS {
                        recent.pop_front();
                    }
                    recent.push_back(ev);
                }
            }
        }
        EventLog {
            recent: Mutex::new(recent),
            file,
        }
    }

    /// Logs, keeps and appends one event. A write failure is logged, never fatal:
    /// the failover already happened, the record is secondary.
    pub fn record(&self, ev: FailoverEvent) {
        let line = serde_json::to_string(&ev).unwrap_or_default();
        if ev.outcome == "published" {
            tracing::warn!(
                event = %line,
                "failover {}: {} -> {} at epoch {:?} in {} ms",
                ev.id,
                ev.old_master,
                ev.new_master.as_deref().unwrap_or("-"),
                ev.epoch,
                ev.total_ms
            );
        } else {
            tracing::error!(event = %line, "failover {} did not complete: {}", ev.id, ev.outcome);
        }
        if let Some(path) = &self.file {
            let res = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| {
                    f.write_all(line.as_bytes())?;
                    f.write_all(b"\n")?;
                    f.sync_data()
                });
            if let Err(e) = res {
                tracing::error!("can't append to {}: {e}", path.display());
            }
        }
        let mut r = self.recent.lock();
        if r.len() == RECENT_EVENTS {
            r.pop_front();
        }
        r.push_back(ev);
    }

    /// The recent events, oldest first.
    pub fn recent(&self) -> Vec<FailoverEvent> {
        self.recent.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str) -> FailoverEvent {
        FailoverEvent {
            id: id.into(),
            started_at: 1,
            reason: "master-down".into(),
            evidence: vec!["m".into()],
            monitor: "m".into(),
            old_master: "a:1".into(),
            new_master: Some("b:2".into()),
            epoch: Some(2),
            candidates: Vec::new(),
            steps: StepDurations::default(),
            total_ms: 5,
            outcome: "published".into(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn events_survive_a_restart_through_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let log = EventLog::new(Some(dir.path().to_path_buf()));
        for i in 0..40 {
            log.record(ev(&format!("e{i}")));
        }
        assert_eq!(log.recent().len(), RECENT_EVENTS);
        let again = EventLog::new(Some(dir.path().to_path_buf()));
        let r = again.recent();
        assert_eq!(r.len(), RECENT_EVENTS);
        assert_eq!(r.last().map(|e| e.id.as_str()), Some("e39"));
        assert_eq!(r.first().map(|e| e.id.as_str()), Some("e8"));
    }
}
