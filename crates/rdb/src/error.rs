//! Typed errors: every decode error carries the byte offset (in the RDB stream or the
//! DUMP payload) where the problem was detected.

use std::fmt;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected end of input")]
    UnexpectedEof,
    #[error("wrong signature trying to load DB from file")]
    BadMagic,
    #[error("Can't handle RDB format version {0}")]
    UnsupportedVersion(u32),
    #[error("unsupported RDB object type {0} ({1})")]
    UnsupportedType(u8, &'static str),
    #[error("unknown RDB object type or opcode {0}")]
    UnknownType(u8),
    #[error("wrong RDB checksum: stored {stored:016x}, computed {computed:016x}")]
    Checksum { stored: u64, computed: u64 },
    /// Redis 7.0's message for the release candidates' function format.
    #[error("Pre-GA function loading is not supported")]
    FunctionPreGa,
    /// A FUNCTION RESTORE payload holds something other than libraries.
    #[error("given type is not a function")]
    NotAFunction,
    #[error("unsupported: the RDB contains module auxiliary data (MODULE_AUX opcode)")]
    ModuleAux,
    #[error("DUMP payload version or checksum are wrong")]
    BadDumpPayload,
    #[error("corrupt RDB: {0}")]
    Corrupt(String),
}

/// A decode error at a byte offset.
#[derive(Debug)]
pub struct Error {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        Error { offset, kind }
    }

    pub fn corrupt(offset: u64, msg: impl Into<String>) -> Self {
        Error::new(offset, ErrorKind::Corrupt(msg.into()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte offset {})", self.kind, self.offset)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
