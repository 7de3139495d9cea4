//! Arbitrary bytes into the RESP2/RESP3 boundary scanner and the frame parser: no
//! panic; the resumable scanner fed growing prefixes agrees with one stateless scan;
//! a value the scanner accepts is one the frame parser builds with the same length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_resp::scan::{parse_frame, value_len, Scanner};
use tandem_resp::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let whole = value_len(data, &limits);
    let mut s = Scanner::new();
    let mut resumed = Ok(None);
    for end in 0..=data.len() {
        resumed = s.scan(&data[..end], &limits);
        if !matches!(resumed, Ok(None)) {
            break;
        }
    }
    if let Ok(Some(n)) = whole {
        assert_eq!(resumed, Ok(Some(n)));
        let built = parse_frame(data).map(|f| f.map(|(_, used)| used));
        assert_eq!(built, Ok(Some(n)));
    }
});
