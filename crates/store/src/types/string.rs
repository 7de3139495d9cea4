//! String values. (Placeholder; the strings helper owns this file.)

/// A string value, int-encoded when it is a canonical i64 (Redis's "int" encoding).
#[derive(Debug, Clone)]
pub enum Str {
    Int(i64),
    Raw(Vec<u8>),
}

impl Str {
    pub fn from_bytes(b: &[u8]) -> Self {
        match crate::util::parse_i64(b) {
            Some(n) if b.len() <= 20 => Str::Int(n),
            _ => Str::Raw(b.to_vec()),
        }
    }
    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Raw(v) if v.len() <= 44 => "embstr",
            Str::Raw(_) => "raw",
        }
    }
    /// Writes the value as a bulk string.
    pub fn reply(&self, out: &mut tandem_resp::ReplyBuf) {
        match self {
            Str::Int(n) => out.bulk_int(*n),
            Str::Raw(v) => out.bulk(v),
        }
    }
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Str::Int(n) => n.to_string().into_bytes(),
            Str::Raw(v) => v.clone(),
        }
    }
}
