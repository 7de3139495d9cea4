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
        .map(|(i, _)| {
            let kdb = key_db(spec.full_name, args, i, db);
            let existed = st
                .store
                .dbs
                .get(kdb)
                .is_some_and(|d| d.dict.contains_key(&args[i][..]));
            (i, existed)
        })
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
    let name = spec.resolve(args).full_name;
    if let (Some(_), true, Some(dst)) = (&before, changed, moved_to(name, args)) {
        // MOVE adds the key to the target database (`new` there), then
        // notifies `move_from` in the source and `move_to` in the target.
        st.store.notify_event(NEW, "new", dst, &args[1]);
        st.store.notify_event(GENERIC, "move_from", db, &args[1]);
        st.store.notify_event(GENERIC, "move_to", dst, &args[1]);
    } else if let (Some(mut keys), true) = (before, changed) {
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
            let kdb = key_db(name, args, i, db);
            let exists = st
                .store
                .dbs
                .get(kdb)
                .is_some_and(|d| d.dict.contains_key(&key[..]));
            if !existed && exists && !new_first {
                st.store.notify_event(NEW, "new", kdb, key);
            }
            let own = command_event(name, args, i);
            if let Some((class, event)) = own {
                if existed || exists {
                    st.store.notify_event(class, event, kdb, key);
                }
            }
            if sets_expire(name, args) && exists {
                st.store.notify_event(GENERIC, "expire", kdb, key);
            }
            // RENAME's source goes as `rename_from`, not `del`.
            let deleted_by_own = own.is_some_and(|(_, e)| matches!(e, "del" | "rename_from"));
            if existed && !exists && !deleted_by_own {
                st.store.notify_event(GENERIC, "del", kdb, key);
            }
        }
    }
    crate::cmd_pubsub::flush_notifications(st);
}

/// The database of the key at `args[i]`: COPY's destination goes to its DB
/// option's database; every other key is in the client's.
fn key_db(name: &str, args: &[Bytes], i: usize, db: usize) -> usize {
    if name != "copy" || i != 2 {
        return db;
    }
    args.iter()
        .skip(3)
        .position(|a| a.eq_ignore_ascii_case(b"db"))
        .and_then(|p| args.get(p + 4))
        .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok())
        .unwrap_or(db)
}

/// MOVE's target database.
fn moved_to(name: &str, args: &[Bytes]) -> Option<usize> {
    if name != "move" {
        return None;
    }
    std::str::from_utf8(args.get(2)?).ok()?.parse().ok()
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
