//! INFO replication, with Redis 7.0's field names and order, plus Tandem's
//! `tandem_*` fields (epoch, fencing, sync mode).

use std::fmt::Display;

use super::{LinkState, ReplicaState};
use crate::state::State;

/// Writes the `# Replication` section through `w(name, value)`.
pub fn info(st: &State, w: &mut dyn FnMut(&str, &dyn Display)) {
    let r = &st.repl;
    w("# Replication", &"");
    match &r.master {
        None => w("role", &"master"),
        Some(m) => {
            w("role", &"slave");
            w("master_host", &m.host);
            w("master_port", &m.port);
            let up = m.state == LinkState::Connected;
            w("master_link_status", &if up { "up" } else { "down" });
            let io = if up {
                m.last_io.elapsed().as_secs() as i64
            } else {
                -1
            };
            w("master_last_io_seconds_ago", &io);
            let syncing = m.state == LinkState::Transfer;
            w("master_sync_in_progress", &(syncing as u8));
            w(
                "slave_read_repl_offset",
                &m.read_offset.max(st.stream.offset),
            );
            w("slave_repl_offset", &st.stream.offset);
            if syncing {
                let total = m.transfer_size;
                let read = m.transfer_read;
                w("master_sync_total_bytes", &total);
                w("master_sync_read_bytes", &read);
                w(
                    "master_sync_left_bytes",
                    &if total >= 0 { total - read as i64 } else { -1 },
                );
                let perc = if total > 0 {
                    read as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                w("master_sync_perc", &format!("{perc:.2}"));
                w(
                    "master_sync_last_io_seconds_ago",
                    &m.last_io.elapsed().as_secs(),
                );
            }
            if !up {
                w(
                    "master_link_down_since_seconds",
                    &m.down_since.elapsed().as_secs(),
                );
            }
            w("slave_priority", &st.config.int("replica-priority"));
            w("slave_read_only", &(r.cfg.read_only as u8));
            w(
                "replica_announced",
                &(st.config.bool("replica-announced") as u8),
            );
        }
    }
    let listed: Vec<_> = r
        .replicas
        .values()
        .filter(|x| x.state != ReplicaState::Handshake)
        .collect();
    w("connected_slaves", &listed.len());
    if r.master.is_none() && r.cfg.min_replicas > 0 {
        w("min_slaves_good_slaves", &r.good_replicas());
    }
    for (i, x) in listed.iter().enumerate() {
        w(
            &format!("slave{i}"),
            &format!(
                "ip={},port={},state={},offset={},lag={}",
                x.ip,
                x.listening_port,
                x.state.name(),
                x.ack,
                x.ack_time.elapsed().as_secs()
            ),
        );
    }
    w("master_failover_state", &"no-failover");
    w("master_replid", &r.replid);
    w("master_replid2", &r.replid2);
    w("master_repl_offset", &st.stream.offset);
    w("second_repl_offset", &r.second_offset);
    let active = st.stream.backlog_used || r.master.is_some();
    w("repl_backlog_active", &(active as u8));
    w("repl_backlog_size", &st.config.int("repl-backlog-size"));
    if active {
        w(
            "repl_backlog_first_byte_offset",
            &(st.stream.backlog_first_offset() + 1),
        );
        w("repl_backlog_histlen", &st.stream.backlog_len());
    } else {
        w("repl_backlog_first_byte_offset", &0);
        w("repl_backlog_histlen", &0);
    }
    w("tandem_epoch", &r.epoch);
    w(
        "tandem_fenced",
        &((r.fenced_by.is_some() || r.self_fenced) as u8),
    );
    w(
        "tandem_replication_mode",
        &if r.cfg.sync_mode { "sync" } else { "async" },
    );
    let state = if !r.cfg.sync_mode {
        "off"
    } else if r.sync_refusing {
        "refusing"
    } else if r.sync_degraded {
        "degraded"
    } else if r.sync_armed {
        "ok"
    } else {
        "arming"
    };
    w("tandem_sync_state", &state);
    w("tandem_sync_acked_offset", &r.nth_ack(r.cfg.min_sync));
}

/// The replication counters of INFO stats.
pub fn stats(st: &State, w: &mut dyn FnMut(&str, &dyn Display)) {
    w("sync_full", &st.repl.sync_full);
    w("sync_partial_ok", &st.repl.sync_partial_ok);
    w("sync_partial_err", &st.repl.sync_partial_err);
}
