//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use bytes::Bytes;
use tandem_store::util::eq_ic;
use tandem_store::{CmdError, CmdResult};

use crate::config::Config;
use crate::dispatch::{Ctx, ServerHandler};
use crate::state::{CmdStat, Effective, ServerStats, State};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("config", config)];

/// The keyspace notification classes on (0 when nothing would be published).
pub fn notify_flags(cfg: &Config) -> u32 {
    let f = tandem_store::notify::parse_flags(cfg.str("notify-keyspace-events").as_bytes())
        .unwrap_or(0);
    if tandem_store::notify::active(f) {
        f
    } else {
        0
    }
}

/// Pushes the effective configuration into the store and hot-path copies.
pub fn apply(st: &mut State) {
    let old_pass = st.eff.requirepass.clone();
    st.eff = Effective::from(&st.config);
    if st.eff.requirepass != old_pass {
        // As Redis's updateRequirePass: the default user's only password.
        let pass = st.eff.requirepass.clone();
        st.acl.set_requirepass(pass.as_deref());
    }
    st.store.notify = notify_flags(&st.config);
    st.acl.pubsub_all = st.config.str("acl-pubsub-default") == "allchannels";
    let active = st.store.config.active_expire_enabled;
    st.store.config = st.config.store_config();
    st.store.config.active_expire_enabled = active;
    st.stream
        .set_capacity(st.config.int("repl-backlog-size").max(1) as usize);
    crate::repl::apply_config(st);
}

fn config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    let arity = || {
        CmdError::msg(format!(
            "ERR wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(sub).to_lowercase()
        ))
    };
    if eq_ic(sub, "GET") {
        if n < 3 {
            return Err(arity());
        }
        let pats: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
        let found = ctx.st.config.get_matching(&pats);
        ctx.out.map(found.len());
        for (k, v) in found {
            ctx.out.bulk(k.as_bytes());
            ctx.out.bulk(v.as_bytes());
        }
    } else if eq_ic(sub, "SET") {
        if n < 4 || !n.is_multiple_of(2) {
            return Err(arity());
        }
        let pairs: Vec<(String, String)> = args[2..]
            .chunks(2)
            .map(|p| {
                (
                    String::from_utf8_lossy(&p[0]).into_owned(),
                    String::from_utf8_lossy(&p[1]).into_owned(),
                )
            })
            .collect();
        let addr = ctx.client().addr.clone();
        let allow = ctx.st.config.allows("enable-protected-configs", &addr);
        let before = ctx.st.config.clone();
        ctx.st
            .config
            .set_many_as(&pairs, allow)
            .map_err(CmdError::msg)?;
        let port_changed = before.int("port") != ctx.st.config.int("port");
        if port_changed || before.words("bind") != ctx.st.config.words("bind") {
            let shared = ctx.shared.me.get().and_then(std::sync::Weak::upgrade);
            let res = match &shared {
                Some(sh) => crate::rebind(sh, &ctx.st.config, port_changed),
                None => Err("the server is shutting down".into()),
            };
            if let Err(reason) = res {
                ctx.st.config = before;
                let name = if port_changed { "port" } else { "bind" };
                return Err(CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
                )));
            }
        }
        apply(ctx.st);
        ctx.shared
            .busy
            .set_window(ctx.st.config.int("busy-poll") as u64);
        if pairs
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("jemalloc-bg-thread"))
        {
            crate::apply_allocator(&ctx.st.config);
        }
        crate::persist::config_set(ctx.st, ctx.shared).map_err(CmdError::msg)?;
        ctx.out.ok();
    } else if eq_ic(sub, "RESETSTAT") && n == 2 {
        let last_save = ctx.st.stats.last_save;
        let peak = ctx.st.stats.used_memory_peak;
        let startup = ctx.st.stats.used_memory_startup;
        ctx.st.stats = ServerStats {
            last_save,
            used_memory_peak: peak,
            used_memory_startup: startup,
            ..ServerStats::default()
        };
        for s in ctx.st.cmdstats.iter_mut() {
            *s = CmdStat::default();
        }
        // As Redis's resetCommandTableStats: the latency histograms too.
        crate::latency::reset_histograms(ctx.st);
        let st = &mut ctx.st.store.stats;
        *st = Default::default();
        ctx.out.ok();
    } else if eq_ic(sub, "REWRITE") && n == 2 {
        rewrite(&ctx.st.config, &ctx.st.acl).map_err(CmdError::msg)?;
        ctx.out.ok();
    } else if eq_ic(sub, "HELP") && n == 2 {
        let lines = [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
    } else {
        return Err(crate::cmd_client::unknown_sub(sub, "CONFIG"));
    }
    Ok(())
}

/// CONFIG REWRITE: the config file keeps its comments and order, as Redis's
/// (see `config::rewrite`); without an `aclfile` every ACL user is written as
/// a `user` line.
fn rewrite(cfg: &Config, acl: &crate::acl::Acl) -> Result<(), String> {
    let Some(path) = &cfg.config_file else {
        return Err("ERR The server is running without a config file".into());
    };
    let users = cfg.str("aclfile").is_empty().then(|| {
        acl.users
            .iter()
            .map(|(name, u)| {
                format!(
                    "user {} {}",
                    String::from_utf8_lossy(name),
                    crate::acl::describe_user(u)
                )
            })
            .collect()
    });
    crate::config::rewrite::rewrite_file(path, cfg, users).map_err(|e| {
        tracing::warn!("CONFIG REWRITE failed: {e}");
        format!("ERR Rewriting config file: {e}")
    })
}
