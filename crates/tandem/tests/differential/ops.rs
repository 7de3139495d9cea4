//! The command table: every family is a list of [`Op`]s, one line each (name,
//! weight, how to normalize the reply, how to make the arguments). Adding a command
//! to the differential test means adding one line here or in a family file.

use crate::gen::{Cmd, G};

/// How a reply is normalized before the two sides are compared. Only where Redis
/// itself promises no order or returns random picks; everything else is `Exact`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Byte-for-byte equal `redis::Value`s (RESP3 maps and sets are always sorted:
    /// their order is unspecified by definition).
    Exact,
    /// Unordered array reply (SMEMBERS, KEYS, SINTER...): sort its elements.
    Sort,
    /// Unordered flat field/value array (HGETALL in RESP2): sort by pairs.
    SortPairs,
    /// TTL-like integer: only its sign matters (-2 none, -1 no TTL, >0 has TTL),
    /// because the two servers' clocks and the command timing differ by a few ms.
    Ttl,
    /// Random picks (SRANDMEMBER, HRANDFIELD, RANDOMKEY...): compare only the
    /// shape (types and array lengths), not the values.
    Shape,
    /// SPOP without count: a random member leaves each side; the reply shape is
    /// compared and then the other side is re-synced (SADD popped, SREM reference's).
    SpopResync,
    /// SORT: compared as `Exact` (or `Sort` with `unordered`); then a sorted
    /// set it sorted is rebuilt on both sides, since SORT leaves it in Redis's
    /// skiplist encoding, where lex ranges over mixed scores depend on the
    /// skiplist's random levels (see COMPATIBILITY.md).
    Relist { unordered: bool },
    /// Stream replies with times (XINFO, XPENDING's rows): idle times, and
    /// consumers' seen-times and PEL delivery times near now, come from each
    /// side's clock and are replaced (see `norm::stream_times`); delivery
    /// times set by `XCLAIM ... TIME` long ago are compared.
    StreamTimes,
}

/// One command kind.
#[derive(Clone, Copy)]
pub struct Op {
    pub name: &'static str,
    /// Relative frequency within its family.
    pub weight: u32,
    pub norm: Norm,
    /// False for commands that must not be queued inside MULTI (their effect is
    /// random and is re-synced after the reply).
    pub in_multi: bool,
    pub gen: fn(&mut G) -> Cmd,
}

/// Shorthand used by the family tables.
pub const fn op(name: &'static str, weight: u32, norm: Norm, gen: fn(&mut G) -> Cmd) -> Op {
    Op {
        name,
        weight,
        norm,
        in_multi: !matches!(norm, Norm::SpopResync | Norm::Relist { .. }),
        gen,
    }
}

impl Op {
    /// Marks an op that must not be queued inside MULTI (e.g. EXEC itself).
    pub const fn solo(mut self) -> Op {
        self.in_multi = false;
        self
    }
}

/// All families, by name (the names work with `TANDEM_DIFF_SKIP=a,b`).
pub const FAMILIES: &[(&str, &[Op])] = &[
    ("strings", crate::strings::STRINGS),
    ("bits", crate::strings::BITS),
    ("keys", crate::keys::KEYS),
    ("encoding", crate::keys::ENCODING),
    ("lists", crate::lists::LISTS),
    ("hashes", crate::sets::HASHES),
    ("sets", crate::sets::SETS),
    ("zsets", crate::zsets::ZSETS),
    ("hll", crate::zsets::HLL),
    ("sort", crate::sort::SORT),
    ("geo", crate::geo::GEO),
    ("streams", crate::streams::STREAMS),
    ("scripts", crate::scripts::SCRIPTS),
    ("errors", crate::keys::ERRORS),
];
