//! Arbitrary bytes into the software long double parser; accepted values are finite
//! and can be added and printed without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_resp::LongDouble;

fuzz_target!(|data: &[u8]| {
    let (a, b) = data.split_at(data.len() / 2);
    if let (Some(x), Some(y)) = (LongDouble::parse(a), LongDouble::parse(b)) {
        assert!(x.is_finite() && y.is_finite());
        let _ = x.add(y).to_human_string();
    }
});
