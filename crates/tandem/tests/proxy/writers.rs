//! Writers and checks shared by the proxy switch tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::Proc;

pub const OUTCOME_UNKNOWN: &str = "outcome unknown, the master failed before replying";
pub const HOLD_TIMEOUT: &str = "no master available within hold-timeout";

pub fn info_field(p: &Proc, field: &str) -> String {
    p.cli_str(&["INFO", "replication"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_default()
}

/// What one writer saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Acknowledged INCR values, in reply order.
    pub incr_acks: Vec<i64>,
    pub unknown: usize,
    pub hold_timeouts: usize,
    pub set_errors: Vec<String>,
    pub other_errors: Vec<String>,
    pub longest_wait: Duration,
}

/// Runs INCR (single and pipelined, mixed with idempotent SETs) on `ctr:<t>`
/// until `stop`.
pub fn writer(url: String, t: usize, pipeline: usize, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut c = redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let key = format!("ctr:{t}");
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let n = if round.is_multiple_of(2) { 1 } else { pipeline };
        let mut p = redis::pipe();
        p.ignore_errors();
        for j in 0..n {
            if j % 4 == 3 {
                p.cmd("SET").arg(format!("set:{t}")).arg(round);
            } else {
                p.cmd("INCR").arg(&key);
            }
        }
        let t0 = Instant::now();
        let replies: Vec<redis::RedisResult<redis::Value>> = p.query(&mut c).expect("pipeline");
        seen.longest_wait = seen.longest_wait.max(t0.elapsed());
        assert_eq!(replies.len(), n, "one reply per request");
        for (j, r) in replies.into_iter().enumerate() {
            let is_set = j % 4 == 3;
            match r {
                Ok(redis::Value::Int(v)) if !is_set => seen.incr_acks.push(v),
                Ok(redis::Value::Okay) if is_set => {}
                Ok(v) => seen.other_errors.push(format!("unexpected reply {v:?}")),
                Err(e) => {
                    let m = e.to_string();
                    if is_set && !m.contains(HOLD_TIMEOUT) {
                        seen.set_errors.push(m);
                    } else if m.contains(OUTCOME_UNKNOWN) {
                        seen.unknown += 1;
                    } else if m.contains(HOLD_TIMEOUT) {
                        seen.hold_timeouts += 1;
                    } else {
                        seen.other_errors.push(m);
                    }
                }
            }
        }
    }
    seen
}
