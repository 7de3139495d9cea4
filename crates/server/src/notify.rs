//! Keyspace notifications for the commands that run: which keys a write
//! touched (from its key specs), whether each existed before, then the
//! command's event (`tandem_store::notify::command_event`), `new` for a key it
//! created and `del` for a key it emptied, published with what the store
//! raised itself (expired, evicted) in the order they happened.

use bytes::Bytes;
use tandem_commands::{flags, CommandSpec};
use tandem_store::notify::{command_event, GENERIC, NEW};

use crate::state::State;

/// The written keys of a write command (argument index, existed), when
/// notifications are on.
pub fn before(
    st: &mut State,
    spec: &'static CommandSpec,
    args: &[Bytes],
    db: usize,
) -> Option<Vec<(usize, bool)>> {
    if st.store.notify == 0 {
        return None;
    }
    let spec = spec.resolve(args);
    if !spec.has(flags::WRITE) {
        return None;
    }
    let keys = spec
        .get_keys_and_flags(args)
        .into_iter()
        .filter(|(_, f)| {
            f.iter()
                .any(|x| matches!(*x, "insert" | "update" | "delete" | "OW" | "RW"))
        })
        .map(|(i, _)| (i, st.store.dbs[db].dict.contains_key(&args[i][..])))
        .collect();
    Some(keys)
}

/// Queues the command's events (if it changed anything) and publishes
/// everything queued.
pub fn after(
    st: &mut State,
    spec: &'static CommandSpec,
    args: &[Bytes],
    db: usize,
    before: Option<Vec<(usize, bool)>>,
    changed: bool,
) {
    if let (Some(mut keys), true) = (before, changed) {
        let name = spec.resolve(args).full_name;
        // A move pushes to its destination before it pops its source.
        if matches!(name, "lmove" | "blmove" | "rpoplpush" | "brpoplpush") {
            keys.reverse();
        }
        // RENAME adds its destination before it notifies anything.
        let new_first = matches!(name, "rename" | "renamenx");
        if new_first {
            for &(i, existed) in &keys {
                if !existed && st.store.dbs[db].dict.contains_key(&args[i][..]) {
                    st.store.notify_event(NEW, "new", db, &args[i]);
                }
            }
        }
        for (i, existed) in keys {
            let key = &args[i];
            let exists = st.store.dbs[db].dict.contains_key(&key[..]);
            if !existed && exists && !new_first {
                st.store.notify_event(NEW, "new", db, key);
            }
            let own = command_event(name, args, i);
            if let Some((class, event)) = own {
                if existed || exists {
                    st.store.notify_event(class, event, db, key);
                }
            }
            if sets_expire(name, args) && exists {
                st.store.notify_event(GENERIC, "expire", db, key);
            }
            // RENAME's source goes as `rename_from`, not `del`.
            let deleted_by_own = own.is_some_and(|(_, e)| matches!(e, "del" | "rename_from"));
            if existed && !exists && !deleted_by_own {
                st.store.notify_event(GENERIC, "del", db, key);
            }
        }
    }
    crate::cmd_pubsub::flush_notifications(st);
}

/// SET with a time (EX, PX, EXAT, PXAT), SETEX and PSETEX also raise
/// `expire`.
fn sets_expire(name: &str, args: &[Bytes]) -> bool {
    match name {
        "setex" | "psetex" => true,
        "set" => args[3..].iter().any(|a| {
            ["ex", "px", "exat", "pxat"]
                .iter()
                .any(|o| a.eq_ignore_ascii_case(o.as_bytes()))
        }),
        _ => false,
    }
}
