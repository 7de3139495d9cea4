//! Short names the generated table files use (hand-written, not generated):
//! one `arg(...)` call per argument keeps the generated files readable.

pub(crate) use crate::flags::*;
pub(crate) use crate::{ArgSpec, BeginSearch, CommandSpec, FindKeys, KeySpec};

pub(crate) const ARG_OPT: u8 = 1;
pub(crate) const ARG_MULTI: u8 = 2;
pub(crate) const ARG_MULTI_TOKEN: u8 = 4;

/// Builds an ArgSpec; "" means absent for `token`, `since` and `deprecated_since`.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn arg(
    name: &'static str,
    kind: &'static str,
    token: &'static str,
    flags: u8,
    key_spec_index: i32,
    since: &'static str,
    deprecated_since: &'static str,
    args: &'static [ArgSpec],
) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        token: if token.is_empty() { None } else { Some(token) },
        optional: flags & ARG_OPT != 0,
        multiple: flags & ARG_MULTI != 0,
        multiple_token: flags & ARG_MULTI_TOKEN != 0,
        key_spec_index,
        since,
        deprecated_since,
        args,
    }
}
