//! Splitting of inline requests (a command typed into `nc`/`telnet`) into arguments,
//! following Redis 7.0's `sdssplitargs` rules:
//!
//! * arguments are separated by blanks (C `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`
//!   between arguments; inside an unquoted argument only space, `\t`, `\n`, `\r` end it);
//! * `"double quotes"` understand `\n \r \t \b \a \xHH` and `\<any>` (that char);
//! * `'single quotes'` understand only `\'`;
//! * a closing quote must be followed by a blank or the end of the line, and an
//!   unterminated quote is an error ("unbalanced quotes").
//!
//! Redis works on a C string, so a NUL byte ends the line; we do the same (everything
//! from the first NUL on is ignored) so the same bytes give the same arguments.

/// C's `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits one inline line (without its trailing `\n` / `\r\n`) into arguments.
/// Returns `None` for unbalanced quotes.
pub fn split_inline(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // sdssplitargs sees a C string: stop at the first NUL.
    let line = match line.iter().position(|&c| c == 0) {
        Some(n) => &line[..n],
        None => line,
    };
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut out = Vec::new();
    let mut p = 0usize;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = at(p);
            if inq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        cur.push(h * 16 + l);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            p += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::split_inline;

    fn s(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_inline(line)
    }
    fn v(items: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(items.iter().map(|x| x.to_vec()).collect())
    }

    #[test]
    fn plain_words_and_blanks() {
        assert_eq!(s(b"set a b"), v(&[b"set", b"a", b"b"]));
        assert_eq!(s(b"  set \t a   b  "), v(&[b"set", b"a", b"b"]));
        assert_eq!(s(b""), v(&[]));
        assert_eq!(s(b"   \t "), v(&[]));
        // \v and \f separate arguments only between them, not inside one.
        assert_eq!(s(b"\x0bping\x0b"), v(&[b"ping\x0b"]));
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(s(br#"set "a b" "c\"d""#), v(&[b"set", b"a b", b"c\"d"]));
        assert_eq!(
            s(br#""\n\r\t\b\a\\\q\x41\x4a\xzz""#),
            v(&[b"\n\r\t\x08\x07\\qAJxzz"])
        );
        assert_eq!(s(br#""\x4""#), v(&[b"x4"]));
        assert_eq!(s(br#""""#), v(&[b""]));
        // A quote may start in the middle of a word.
        assert_eq!(s(br#"ab"c d""#), v(&[b"abc d"]));
        assert_eq!(s(b"\"\\xff\\x00\""), v(&[b"\xff\x00"]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(s(br"'a \n b' 'it\'s'"), v(&[br"a \n b", b"it's"]));
        assert_eq!(s(br"'a\\b'"), v(&[br"a\\b"]));
        assert_eq!(s(b"''"), v(&[b""]));
    }

    #[test]
    fn unbalanced_quotes() {
        assert_eq!(s(b"\"abc"), None);
        assert_eq!(s(b"'abc"), None);
        assert_eq!(s(b"\"abc\"def"), None);
        assert_eq!(s(b"'abc'def"), None);
        assert_eq!(s(b"\"abc\\\""), None);
        assert_eq!(s(b"\"ab\\"), None);
        // Closing quote followed by a blank is fine.
        assert_eq!(s(b"\"abc\"\tx"), v(&[b"abc", b"x"]));
        assert_eq!(s(b"\"abc\"\x0bx"), v(&[b"abc", b"x"]));
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(s(b"get a\0b c"), v(&[b"get", b"a"]));
        assert_eq!(s(b"get \"a\0b\""), None);
    }
}
