//! Encoders for Redis's compact blob encodings (listpack, intset), so the store can
//! produce the exact DUMP payloads / snapshot records Redis 7.0 produces for small
//! objects (OBJECT ENCODING `listpack`/`intset`): write them with
//! [`crate::RdbWriter::key_blob`] or [`crate::dump_payload_blob`] and the type bytes in
//! [`crate::consts`]. Byte-compatibility is tested against real Redis DUMP output.

/// The integer a listpack stores an element as, if Redis's `lpStringToInt64` accepts
/// it: canonical decimal (no '+', no leading zeros, no "-0"), at most 20 characters.
fn lp_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (v.to_string().as_bytes() == s).then_some(v)
}

/// Appends one listpack element for `item` the way `lpAppend` does: as an integer
/// encoding when it is a canonical decimal, as a string otherwise.
pub(crate) fn lp_entry(out: &mut Vec<u8>, item: &[u8]) {
    match lp_int(item) {
        Some(v) => lp_entry_int(out, v),
        None => {
            let start = out.len();
            let l = item.len();
            if l < 64 {
                out.push(0x80 | l as u8);
            } else if l < 4096 {
                out.extend_from_slice(&[0xe0 | (l >> 8) as u8, l as u8]);
            } else {
                out.push(0xf0);
                out.extend_from_slice(&(l as u32).to_le_bytes());
            }
            out.extend_from_slice(item);
            lp_backlen(out, start);
        }
    }
}

/// Appends an integer element in the narrowest encoding (Redis's `lpAppendInteger`,
/// which formats the number and lets `lpAppend` find that encoding).
pub(crate) fn lp_entry_int(out: &mut Vec<u8>, v: i64) {
    let start = out.len();
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u16) & 0x1fff;
        out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
    } else if i16::try_from(v).is_ok() {
        out.push(0xf1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        out.push(0xf2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if i32::try_from(v).is_ok() {
        out.push(0xf3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xf4);
        out.extend_from_slice(&v.to_le_bytes());
    }
    lp_backlen(out, start);
}

/// Back-length of the element that starts at `start`: its size in 7-bit groups, most
/// significant first, every byte but the first flagged with 0x80 (so it can be parsed
/// right to left).
fn lp_backlen(out: &mut Vec<u8>, start: usize) {
    let l = out.len() - start;
    let mut groups = 1;
    while groups < 5 && l >> (7 * groups) != 0 {
        groups += 1;
    }
    for g in (0..groups).rev() {
        let b = ((l >> (7 * g)) & 0x7f) as u8;
        out.push(if g == groups - 1 { b } else { b | 0x80 });
    }
}

/// Wraps listpack elements (`body`, `n` of them) in the header and end marker.
pub(crate) fn lp_finish(body: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 7);
    out.extend_from_slice(&((body.len() + 7) as u32).to_le_bytes());
    // 65535 means "count unknown, walk the entries".
    out.extend_from_slice(&(n.min(65535) as u16).to_le_bytes());
    out.extend_from_slice(body);
    out.push(0xff);
    out
}

/// A listpack holding `items` in order (RDB types 16, 17, 20 and quicklist nodes).
pub fn encode_listpack<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut n: usize = 0;
    for it in items {
        lp_entry(&mut body, it);
        n += 1;
    }
    lp_finish(&body, n)
}

/// An intset of `values` (RDB type 11): sorted, deduplicated, in the narrowest width.
pub fn encode_intset(values: &[i64]) -> Vec<u8> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let width = if v.iter().all(|x| i16::try_from(*x).is_ok()) {
        2
    } else if v.iter().all(|x| i32::try_from(*x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * v.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

/// Redis 7.0's `d2string`: integral values in (-2^52, 2^52) as integers (so -0 is
/// "0", as ZSCORE shows), otherwise `%.17g`; "inf", "-inf", "nan".
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf" } else { "inf" }.into()
    } else if v > -4_503_599_627_370_495.0 && v < 4_503_599_627_370_496.0 && v == v.trunc() {
        (v as i64).to_string()
    } else {
        fmt_g17(v)
    }
}

/// C's `%.17g` for finite non-zero values.
fn fmt_g17(v: f64) -> String {
    let sci = format!("{v:.16e}"); // d.dddddddddddddddde[-]X
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (16 - exp) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// The listpack of a small sorted set as Redis keeps it: members in (score, member)
/// order, each followed by its score in `d2string` form.
pub fn encode_zset_listpack(members: &[(Vec<u8>, f64)]) -> Vec<u8> {
    let mut sorted: Vec<&(Vec<u8>, f64)> = members.iter().collect();
    // Redis compares scores with `<`, so -0 and 0 tie and the member decides.
    sorted.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let scores: Vec<String> = sorted.iter().map(|m| d2string(m.1)).collect();
    encode_listpack(
        sorted
            .iter()
            .zip(&scores)
            .flat_map(|(m, s)| [m.0.as_slice(), s.as_bytes()]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs;
    use proptest::strategy::Strategy;

    #[test]
    fn g17_matches_c() {
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(0.1), "0.10000000000000001");
        assert_eq!(d2string(1.0 / 3.0), "0.33333333333333331");
        assert_eq!(d2string(1e20), "1e+20");
        assert_eq!(d2string(1e-5), "1.0000000000000001e-05");
        assert_eq!(d2string(-2.5e-300), "-2.5e-300");
        assert_eq!(d2string(123456.789), "123456.789");
        assert_eq!(d2string(4_503_599_627_370_496.0), "4503599627370496");
        assert_eq!(d2string(-0.0), "0");
        assert_eq!(d2string(1e-320), "9.9998886718268301e-321");
        assert_eq!(d2string(7.0), "7");
    }

    #[test]
    fn listpack_round_trips_through_decoder() {
        let big = vec![b'x'; 5000];
        let mid = vec![b'y'; 200];
        let items: Vec<&[u8]> = vec![
            b"a",
            b"0",
            b"127",
            b"128",
            b"-1",
            b"4095",
            b"-4096",
            b"4096",
            b"32767",
            b"-32769",
            b"8388607",
            b"8388608",
            b"2147483648",
            b"-9223372036854775808",
            b"007",
            b"+1",
            b"-0",
            b"",
            &mid,
            &big,
        ];
        let lp = encode_listpack(items.iter().copied());
        let back = blobs::listpack(&lp).unwrap();
        let want: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
        assert_eq!(back, want);
        let is = encode_intset(&[5, -3, 5, 70000]);
        assert_eq!(
            blobs::intset(&is).unwrap(),
            vec![b"-3".to_vec(), b"5".to_vec(), b"70000".to_vec()]
        );
    }

    proptest::proptest! {
        #[test]
        fn listpack_prop(items in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                proptest::prelude::any::<i64>().prop_map(|i| i.to_string().into_bytes()),
            ], 0..40)) {
            let lp = encode_listpack(items.iter().map(|v| v.as_slice()));
            proptest::prop_assert_eq!(blobs::listpack(&lp).unwrap(), items);
        }

        #[test]
        fn d2string_round_trips(v in proptest::prelude::any::<f64>()) {
            if v.is_finite() {
                let s = d2string(v);
                let back: f64 = s.parse().unwrap();
                // -0 is printed as "0" on purpose (Redis does the same).
                proptest::prop_assert!(back == v, "{} -> {}", v, s);
            }
        }
    }
}
