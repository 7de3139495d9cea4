//! DUMP/RESTORE payloads: type byte + value encoding + RDB version (2 bytes LE) +
//! CRC-64 of everything before (8 bytes LE), as Redis 7.0's `createDumpPayload`.

use crate::crc64::crc64;
use crate::error::{Error, ErrorKind};
use crate::source::Source;
use crate::value::read_value;
use crate::writer::{write_string, write_value};
use crate::{RdbValue, RDB_VERSION};

/// Serializes a value the way `DUMP` does (with LZF for long compressible strings, as
/// Redis's default `rdbcompression yes`). A stream that fails the writer's consistency
/// check (see [`crate::RdbWriter::key_stream`]) gives a payload without a value, which
/// RESTORE (and [`parse_dump_payload`]) refuse.
pub fn dump_payload(v: &RdbValue) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_value(&mut out, v, true);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A DUMP payload for a value already encoded as a Redis blob (listpack, intset: see
/// [`crate::encode_listpack`]) of RDB type `rdb_type`.
pub fn dump_payload_blob(rdb_type: u8, blob: &[u8]) -> Vec<u8> {
    let mut out = vec![rdb_type];
    let _ = write_string(&mut out, blob, true);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a `RESTORE` payload. Like Redis 7.0 (`verifyDumpPayload`), the version must
/// be ≤ 10 and the checksum must match (a zero checksum is not special for DUMP
/// payloads); both failures are [`ErrorKind::BadDumpPayload`], which the server turns
/// into "ERR DUMP payload version or checksum are wrong". A body that does not decode
/// exactly to the footer is also an error ("Bad data format" in Redis).
pub fn parse_dump_payload(p: &[u8]) -> Result<RdbValue, Error> {
    let body = payload_body(p)?;
    let body_len = body.len();
    let mut src = Source::new(body);
    let t = src.u8()?;
    let v = read_value(&mut src, t)?;
    if src.pos as usize != body_len {
        return Err(src.corrupt("trailing bytes in DUMP payload"));
    }
    Ok(v)
}

/// The body of a DUMP-style payload once its version and checksum are checked.
fn payload_body(p: &[u8]) -> Result<&[u8], Error> {
    if p.len() < 10 {
        return Err(Error::new(0, ErrorKind::BadDumpPayload));
    }
    let body_len = p.len() - 10;
    let version = u16::from_le_bytes([p[body_len], p[body_len + 1]]);
    let mut crc_bytes = [0u8; 8];
    crc_bytes.copy_from_slice(&p[body_len + 2..]);
    if version > RDB_VERSION || u64::from_le_bytes(crc_bytes) != crc64(&p[..body_len + 2]) {
        return Err(Error::new(body_len as u64, ErrorKind::BadDumpPayload));
    }
    Ok(&p[..body_len])
}

/// `FUNCTION DUMP`'s payload: each library's code after the `FUNCTION2`
/// opcode, then the version and checksum as in a DUMP payload.
pub fn dump_functions<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(crate::consts::OPCODE_FUNCTION2);
        let _ = write_string(&mut out, code, true);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a `FUNCTION RESTORE` payload into the libraries' code, in order.
pub fn parse_function_payload(p: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let body = payload_body(p)?;
    let mut src = Source::new(body);
    let mut out = Vec::new();
    while (src.pos as usize) < body.len() {
        let at = src.pos;
        match src.u8()? {
            crate::consts::OPCODE_FUNCTION2 => out.push(src.string()?),
            crate::consts::OPCODE_FUNCTION_PRE_GA => {
                return Err(Error::new(at, ErrorKind::FunctionPreGa))
            }
            _ => return Err(Error::new(at, ErrorKind::NotAFunction)),
        }
    }
    Ok(out)
}
