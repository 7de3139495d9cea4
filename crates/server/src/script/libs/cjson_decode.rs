//! `cjson.decode`: lua-cjson's tokenizer and parser, building the value on
//! Lua's stack.

use super::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The decoded string is in `Decoder::tmp`.
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A token error: its description.
    Error(&'static str),
}

impl Tok {
    /// `json_token_type_name`, or the error's description.
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

/// Why decoding failed (formatted once out of the protected call).
#[derive(Clone, Copy)]
enum DecodeError {
    /// `json_throw_parse_error`: expected, found, 0-based index.
    Parse(&'static str, Tok, usize),
    /// Too deep: depth, position.
    Depth(usize, usize),
}

impl DecodeError {
    fn into_fail(self) -> Fail {
        Fail::msg(match self {
            DecodeError::Parse(expected, found, index) => format!(
                "Expected {expected} but found {} at character {}",
                found.name(),
                index + 1
            ),
            DecodeError::Depth(depth, pos) => {
                format!("Found too many nested data structures ({depth}) at character {pos}")
            }
        })
    }
}

/// A table being filled; the table (and for an object the pending key) is
/// on the Lua stack.
#[derive(Clone, Copy)]
enum DecodeFrame {
    Array { next: c_int },
    Object,
}

/// The tokenizer and what the protected decoder works with, owned outside
/// the protected call (see [`EncodeWork`]).
struct Decoder {
    cfg: JsonConfig,
    /// The text plus a terminating NUL (the end, as for the C string).
    data: Vec<u8>,
    pos: usize,
    /// Where the last token starts (its index for error messages).
    tok_index: usize,
    tmp: Vec<u8>,
    frames: Vec<DecodeFrame>,
    result: Result<(), DecodeError>,
}

/// `cjson.decode(text)`.
pub(super) fn json_decode(lua: &Lua, cfg: JsonConfig, text: LuaString) -> Result<Value, Fail> {
    let mut d = {
        let bytes = text.as_bytes();
        if bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0) {
            return Err(Fail::msg("JSON parser does not support UTF-16 or UTF-32"));
        }
        let mut data = Vec::with_capacity(bytes.len() + 1);
        data.extend_from_slice(&bytes);
        data.push(0);
        Decoder {
            cfg,
            data,
            pos: 0,
            tok_index: 0,
            tmp: Vec::new(),
            frames: Vec::new(),
            result: Ok(()),
        }
    };
    let w = &mut d;
    // SAFETY: as for encoding; the stack starts with the text (lua-cjson's
    // argument) and the closure leaves only the decoded value on it.
    let value = unsafe {
        lua.exec_raw::<Value>(text, move |state| {
            w.result = w.decode_on_stack(state);
            if w.result.is_ok() {
                ffi::lua_remove(state, 1);
            } else {
                ffi::lua_settop(state, 0);
            }
        })?
    };
    d.result.map_err(DecodeError::into_fail)?;
    Ok(value)
}

impl Decoder {
    fn byte(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn parse_error(&self, expected: &'static str, tok: Tok) -> DecodeError {
        DecodeError::Parse(expected, tok, self.tok_index)
    }

    /// A token error at the current position.
    fn token_error(&mut self, what: &'static str) -> Tok {
        self.tok_index = self.pos;
        Tok::Error(what)
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Tok {
        while matches!(self.byte(self.pos), b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
        self.tok_index = self.pos;
        let single = match self.byte(self.pos) {
            0 => return Tok::End,
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.is_invalid_number() {
                    return self.token_error("invalid number");
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let rest = self.data.get(self.pos..).unwrap_or_default();
                if rest.starts_with(b"true") {
                    self.pos += 4;
                    return Tok::Bool(true);
                }
                if rest.starts_with(b"false") {
                    self.pos += 5;
                    return Tok::Bool(false);
                }
                if rest.starts_with(b"null") {
                    self.pos += 4;
                    return Tok::Null;
                }
                if self.cfg.decode_invalid_numbers != 0 && self.is_invalid_number() {
                    return self.number_token();
                }
                return self.token_error("invalid token");
            }
            _ => return self.token_error("invalid token"),
        };
        self.pos += 1;
        single
    }

    /// `json_is_invalid_number`: a number JSON forbids (leading '+' or
    /// zero, hexadecimal, inf, nan) that strtod() would accept.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.byte(p) == b'+' {
            return true;
        }
        if self.byte(p) == b'-' {
            p += 1;
        }
        let c = self.byte(p);
        if c == b'0' {
            let c2 = self.byte(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        // `*p <= '9'` with a signed char: bytes >= 128 are "ordinary" too.
        if c <= b'9' || c >= 128 {
            return false;
        }
        let word = [self.byte(p), self.byte(p + 1), self.byte(p + 2)];
        word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"nan")
    }

    /// `json_next_number_token`: strtod() from the current position.
    fn number_token(&mut self) -> Tok {
        let (n, len) = c_strtod(self.data.get(self.pos..).unwrap_or_default());
        if len == 0 {
            return self.token_error("invalid number");
        }
        self.pos += len;
        Tok::Num(n)
    }

    /// `json_next_string_token`: decodes into `tmp`.
    fn string_token(&mut self) -> Tok {
        self.pos += 1;
        self.tmp.clear();
        loop {
            let c = self.byte(self.pos);
            match c {
                b'"' => break,
                0 => return self.token_error("unexpected end of string"),
                b'\\' => {
                    let unescaped = match self.byte(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return self.token_error("invalid unicode escape code");
                        }
                        _ => return self.token_error("invalid escape code"),
                    };
                    self.tmp.push(unescaped);
                    self.pos += 2;
                }
                _ => {
                    self.tmp.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Tok::Str
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = v << 4 | char::from(self.byte(at + i)).to_digit(16)?;
        }
        Some(v)
    }

    /// `json_append_unicode_escape`: `\uXXXX` (or a surrogate pair of them)
    /// at the current position, appended to `tmp` as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            // A high surrogate must come first, followed by a low one.
            if cp & 0x400 != 0 {
                return false;
            }
            if self.byte(self.pos + 6) != b'\\' || self.byte(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let Some(ch) = char::from_u32(cp) else {
            return false;
        };
        let mut buf = [0u8; 4];
        self.tmp
            .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    /// `json_decode_descend`: room for a container needing `slots` stack slots.
    unsafe fn descend(&self, state: *mut ffi::lua_State, slots: c_int) -> Result<(), DecodeError> {
        let depth = self.frames.len() + 1;
        if depth <= self.cfg.decode_max_depth.max(0) as usize
            && ffi::lua_checkstack(state, slots) != 0
        {
            return Ok(());
        }
        Err(DecodeError::Depth(depth, self.pos))
    }

    unsafe fn push_tmp(&self, state: *mut ffi::lua_State) {
        ffi::lua_pushlstring(state, self.tmp.as_ptr().cast(), self.tmp.len());
    }

    /// An object key (token `t`) pushed, and the colon after it.
    unsafe fn object_key(&mut self, state: *mut ffi::lua_State, t: Tok) -> Result<(), DecodeError> {
        if t != Tok::Str {
            return Err(self.parse_error("object key string", t));
        }
        self.push_tmp(state);
        let t = self.next_token();
        if t != Tok::Colon {
            return Err(self.parse_error("colon", t));
        }
        Ok(())
    }

    /// Decodes the whole text onto the stack, as lua-cjson does (same stack
    /// use, same insertion order), without recursion.
    unsafe fn decode_on_stack(&mut self, state: *mut ffi::lua_State) -> Result<(), DecodeError> {
        let mut tok = self.next_token();
        'value: loop {
            // `json_process_value`: push the value starting with `tok`.
            match tok {
                Tok::Str => self.push_tmp(state),
                Tok::Num(n) => ffi::lua_pushnumber(state, n),
                Tok::Bool(b) => ffi::lua_pushboolean(state, c_int::from(b)),
                Tok::Null => ffi::lua_pushlightuserdata(state, std::ptr::null_mut()),
                Tok::ObjBegin => {
                    self.descend(state, 3)?;
                    ffi::lua_newtable(state);
                    let t = self.next_token();
                    if t != Tok::ObjEnd {
                        self.object_key(state, t)?;
                        self.frames.push(DecodeFrame::Object);
                        tok = self.next_token();
                        continue 'value;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(state, 2)?;
                    ffi::lua_newtable(state);
                    let t = self.next_token();
                    if t != Tok::ArrEnd {
                        self.frames.push(DecodeFrame::Array { next: 1 });
                        tok = t;
                        continue 'value;
                    }
                }
                other => return Err(self.parse_error("value", other)),
            }
            // Store the value in its container; close the containers that end.
            loop {
                match self.frames.last_mut() {
                    None => {
                        let t = self.next_token();
                        if t != Tok::End {
                            return Err(self.parse_error("the end", t));
                        }
                        return Ok(());
                    }
                    Some(DecodeFrame::Array { next }) => {
                        ffi::lua_rawseti(state, -2, (*next).into());
                        *next += 1;
                        let t = self.next_token();
                        if t == Tok::Comma {
                            tok = self.next_token();
                            continue 'value;
                        }
                        if t != Tok::ArrEnd {
                            return Err(self.parse_error("comma or array end", t));
                        }
                    }
                    Some(DecodeFrame::Object) => {
                        ffi::lua_rawset(state, -3);
                        let t = self.next_token();
                        if t == Tok::Comma {
                            let t = self.next_token();
                            self.object_key(state, t)?;
                            tok = self.next_token();
                            continue 'value;
                        }
                        if t != Tok::ObjEnd {
                            return Err(self.parse_error("comma or object end", t));
                        }
                    }
                }
                self.frames.pop();
            }
        }
    }
}
