//! Arbitrary bytes into the inline splitter (sdssplitargs rules): no panic, and an
//! unquoted simple line splits into the same words as a plain whitespace split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_resp::inline::split_inline;

fuzz_target!(|data: &[u8]| {
    let out = split_inline(data);
    let simple = data
        .iter()
        .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' || c == b' ');
    if simple {
        let words: Vec<Vec<u8>> = data
            .split(|&c| c == b' ')
            .filter(|w| !w.is_empty())
            .map(|w| w.to_vec())
            .collect();
        assert_eq!(out, Some(words));
    }
});
