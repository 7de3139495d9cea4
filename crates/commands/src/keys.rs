//! Key extraction from Redis 7 key specs: what COMMAND GETKEYS answers and what
//! the proxy routes on. One generic walk covers every command Tandem has,
//! including the numkeys ("movablekeys") forms, because Redis 7.0 describes all
//! of them with `index` + `range`/`keynum` specs.

use crate::{BeginSearch, CommandSpec, FindKeys};

pub(crate) fn get_keys(spec: &CommandSpec, args: &[impl AsRef<[u8]>]) -> Vec<usize> {
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
            keys.push(i as usize);
            i += step;
        }
    }
    keys
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
