//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.

use bytes::Bytes;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{call, Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch),
];

/// Forgets every key the client watches (EXEC, DISCARD, UNWATCH, disconnect).
pub fn unwatch_all(st: &mut State, id: u64) {
    let Some(c) = st.clients.get_mut(&id) else {
        return;
    };
    for k in std::mem::take(&mut c.watched) {
        if let Some(v) = st.store.watched.get_mut(&k) {
            v.retain(|&x| x != id);
            if v.is_empty() {
                st.store.watched.remove(&k);
            }
        }
    }
    st.store.dirty_cas.remove(&id);
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let c = ctx.client();
    if c.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(Vec::new());
    c.multi_error = false;
    ctx.out.ok();
    Ok(())
}

/// Ends a client's transaction unexecuted (a refused EXEC).
pub fn discard_transaction(st: &mut State, id: u64) {
    if let Some(c) = st.clients.get_mut(&id) {
        c.multi = None;
        c.multi_error = false;
    }
    unwatch_all(st, id);
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let c = ctx.client();
    if c.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    c.multi_error = false;
    let id = ctx.id;
    unwatch_all(ctx.st, id);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    let c = ctx.client();
    let Some(queued) = c.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    let had_error = std::mem::take(&mut c.multi_error);
    let conflict = ctx.st.store.dirty_cas.contains(&id);
    unwatch_all(ctx.st, id);
    if had_error {
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if conflict {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(queued.len());
    ctx.in_multi = true;
    // The transaction's writes enter the write stream as one MULTI ... EXEC block.
    ctx.st.stream.begin_tx();
    for args in &queued {
        match ctx.shared.commands.get(&args[0]) {
            Some((idx, entry)) => {
                // ACL rules may have changed since the command was queued.
                let spec = entry.spec;
                if ctx.st.acl.restricted {
                    if let Err(why) = crate::cmd_acl::exec_recheck(ctx, spec, args) {
                        ctx.out.error(&why);
                        continue;
                    }
                }
                call(ctx, idx, args)
            }
            None => ctx.out.error(&crate::dispatch::unknown_command(args)),
        }
    }
    ctx.st.stream.end_tx();
    crate::repl::feed(ctx.st);
    ctx.in_multi = false;
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    let c = ctx.client();
    if c.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = c.db;
    for k in &args[1..] {
        let key: (usize, Box<[u8]>) = (db, k.as_ref().into());
        let c = ctx.client();
        if c.watched.contains(&key) {
            continue;
        }
        c.watched.push(key.clone());
        ctx.st.store.watched.entry(key).or_default().push(id);
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    unwatch_all(ctx.st, id);
    ctx.out.ok();
    Ok(())
}
