//! Key extraction from Redis 7 key specs: what COMMAND GETKEYS answers and what
//! the proxy routes on. One generic walk covers every command Tandem has,
//! including the numkeys ("movablekeys") forms, because Redis 7.0 describes all
//! of them with `index` + `range`/`keynum` specs.

use crate::{BeginSearch, CommandSpec, FindKeys, KeySpec};

/// Key positions with the key spec each came from, in spec order.
pub(crate) fn get_keys(
    spec: &CommandSpec,
    args: &[impl AsRef<[u8]>],
) -> Vec<(usize, &'static KeySpec)> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        // Shard channels of SSUBSCRIBE/SPUBLISH have specs for cluster routing,
        // but they are not keys (COMMAND GETKEYS says "no key arguments").
        if ks.flags.contains(&"not_key") {
            continue;
        }
        let first = match ks.begin_search {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => match find_keyword(args, keyword, start_from) {
                Some(i) => i as i64 + 1,
                None => continue,
            },
            BeginSearch::Unknown => continue,
        };
        if first < 1 || first >= argc {
            // A numkeys form without its count is invalid as a whole, as in
            // Redis; a range that starts past the end just has no keys.
            if matches!(ks.find_keys, FindKeys::Keynum { .. }) {
                return Vec::new();
            }
            continue;
        }
        let (first, last, step) = match ks.find_keys {
            FindKeys::Range {
                last_key,
                key_step,
                limit,
            } => {
                let last = if last_key >= 0 {
                    first + last_key as i64
                } else if limit <= 1 {
                    argc + last_key as i64
                } else {
                    first + ((argc - first) / limit as i64 + last_key as i64)
                };
                (first, last.min(argc - 1), key_step.max(1) as i64)
            }
            FindKeys::Keynum {
                keynum_idx,
                first_key,
                key_step,
            } => {
                let step = key_step.max(1) as i64;
                let Some(numkeys) = args
                    .get((first + keynum_idx as i64) as usize)
                    .and_then(|a| parse_i64(a.as_ref()))
                else {
                    return Vec::new();
                };
                // As Redis's own key extraction for these commands: a count
                // below one, or more keys than arguments, is invalid.
                if numkeys < 1 {
                    return Vec::new();
                }
                let start = first + first_key as i64;
                let Some(last) = (numkeys - 1)
                    .checked_mul(step)
                    .and_then(|n| n.checked_add(start))
                else {
                    return Vec::new();
                };
                if last >= argc {
                    return Vec::new();
                }
                (start, last, step)
            }
            FindKeys::Unknown => continue,
        };
        let mut i = first;
        while i <= last {
            keys.push((i as usize, ks));
            i += step;
        }
    }
    keys
}

const OW_UPDATE: &[&str] = &["OW", "update"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const RO_ACCESS: &[&str] = &["RO", "access"];

/// The flags COMMAND GETKEYSANDFLAGS prints for a key found through `ks`.
/// Specs marked "variable_flags" (SET, BITFIELD) depend on the arguments, as
/// Redis resolves them: SET reads the old value only with GET; BITFIELD writes
/// only with SET or INCRBY (or anything it cannot parse, to be safe).
pub(crate) fn key_flags(
    spec: &CommandSpec,
    ks: &'static KeySpec,
    args: &[impl AsRef<[u8]>],
) -> &'static [&'static str] {
    if !ks.flags.contains(&"variable_flags") {
        return ks.flags;
    }
    let is = |a: &[u8], word: &str| a.eq_ignore_ascii_case(word.as_bytes());
    match spec.full_name {
        "set" => {
            let get = args.iter().skip(3).any(|a| is(a.as_ref(), "get"));
            if get {
                RW_ACCESS_UPDATE
            } else {
                OW_UPDATE
            }
        }
        "bitfield" => {
            let mut i = 2;
            while i < args.len() {
                let a = args[i].as_ref();
                let rest = args.len() - i - 1;
                if is(a, "get") && rest >= 2 {
                    i += 3;
                } else if is(a, "overflow") && rest >= 1 {
                    i += 2;
                } else {
                    // SET, INCRBY, or a syntax error: assume a write.
                    return RW_ACCESS_UPDATE;
                }
            }
            RO_ACCESS
        }
        _ => ks.flags,
    }
}

/// Index of `keyword` (case-insensitive) searching from `start_from`; a
/// negative start searches backwards from that far from the end.
fn find_keyword(args: &[impl AsRef<[u8]>], keyword: &str, start_from: i32) -> Option<usize> {
    let argc = args.len() as i64;
    let matches = |i: i64| {
        args[i as usize]
            .as_ref()
            .eq_ignore_ascii_case(keyword.as_bytes())
    };
    if start_from >= 0 {
        (start_from as i64..argc)
            .find(|&i| matches(i))
            .map(|i| i as usize)
    } else {
        let from = argc + start_from as i64;
        (1..=from).rev().find(|&i| matches(i)).map(|i| i as usize)
    }
}

/// Strict decimal i64 as Redis parses counts: optional '-', digits, no leading
/// zeros or '+', no spaces.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::parse_i64;

    #[test]
    fn parse_i64_is_strict() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"12"), Some(12));
        assert_eq!(parse_i64(b"-3"), Some(-3));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"1 ",
            b" 1",
            b"1a",
            b"\x001",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }
}
