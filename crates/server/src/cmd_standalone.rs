//! CLUSTER, ASKING, READONLY, READWRITE and MODULE, answered as a redis-server
//! 7.0 answers them without cluster mode and with no module loaded: Tandem has
//! neither (its high availability is the proxy and the monitor). Clients and
//! tools that probe for them get Redis's replies, not "unknown command".

use bytes::Bytes;
use tandem_store::util::eq_ic;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Ctx, ServerHandler};

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("cluster", cluster_disabled),
    ("asking", cluster_disabled),
    ("readonly", cluster_disabled),
    ("readwrite", cluster_disabled),
    ("module", module),
];

/// Redis's refusal of MODULE LOAD, LOADEX and UNLOAD under
/// `enable-module-command` (checked in `dispatch`, as DEBUG's).
pub const MODULE_NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// The MODULE subcommands `enable-module-command` guards (Redis's PROTECTED).
pub fn module_protected(args: &[Bytes]) -> bool {
    args.get(1)
        .is_some_and(|s| eq_ic(s, "LOAD") || eq_ic(s, "LOADEX") || eq_ic(s, "UNLOAD"))
}

/// Every CLUSTER subcommand (HELP included), ASKING, READONLY and READWRITE:
/// arity and unknown subcommands were answered by dispatch already.
fn cluster_disabled(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(CmdError::msg(
        "ERR This instance has cluster support disabled",
    ))
}

const MODULE_HELP: &[&str] = &[
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
];

/// MODULE LIST (no module is loaded), HELP, and the refusals of LOAD, LOADEX
/// (Tandem cannot load Redis modules: they are built against Redis's C API)
/// and UNLOAD.
fn module(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if eq_ic(sub, "LIST") && n == 2 {
        ctx.out.array(0);
    } else if eq_ic(sub, "HELP") && n == 2 {
        crate::dispatch::reply_help(ctx.out, MODULE_HELP);
    } else if (eq_ic(sub, "LOAD") || eq_ic(sub, "LOADEX")) && n >= 3 {
        tracing::warn!(
            "Module {} failed to load: Tandem does not load Redis modules",
            String::from_utf8_lossy(&args[2])
        );
        return Err(CmdError::msg(
            "ERR Error loading the extension. Please check the server logs.",
        ));
    } else if eq_ic(sub, "UNLOAD") && n == 3 {
        return Err(CmdError::msg(
            "ERR Error unloading module: no such module with that name",
        ));
    } else {
        return Err(crate::cmd_client::sub_syntax(sub, "MODULE"));
    }
    Ok(())
}
