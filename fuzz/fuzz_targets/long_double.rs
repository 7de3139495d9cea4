//! Arbitrary bytes into the software long double parser; accepted values (finite,
//! or infinities spelled "inf", as strtold accepts) are never NaN and can be added
//! and printed without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_resp::LongDouble;

fuzz_target!(|data: &[u8]| {
    let (a, b) = data.split_at(data.len() / 2);
    if let (Some(x), Some(y)) = (LongDouble::parse(a), LongDouble::parse(b)) {
        assert!(!x.is_nan() && !y.is_nan());
        let sum = x.add(y);
        if sum.is_finite() {
            let _ = sum.to_human_string();
        }
    }
});
