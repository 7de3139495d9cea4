//! Command errors: the client's mistake or a state conflict. The handler returns one
//! before writing any reply; the server turns it into Redis's exact error line.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CmdError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR index out of range")]
    IndexOutOfRange,
    #[error("ERR timeout is not a float or out of range")]
    TimeoutNotFloat,
    #[error("ERR timeout is negative")]
    TimeoutNegative,
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    /// Any other error; the string is the whole line without the leading `-`,
    /// starting with its code (`ERR ...`, `BUSYKEY ...`).
    #[error("{0}")]
    Msg(Cow<'static, str>),
}

impl CmdError {
    /// An error with a message built at run time; `msg` must start with its code.
    pub fn msg(msg: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Msg(msg.into())
    }

    /// `ERR wrong number of arguments for '<cmd>' command` (cmd in lower case, as Redis 7).
    pub fn arity(cmd: &[u8]) -> Self {
        CmdError::Msg(
            format!(
                "ERR wrong number of arguments for '{}' command",
                String::from_utf8_lossy(cmd).to_lowercase()
            )
            .into(),
        )
    }

    pub fn text(&self) -> Cow<'_, str> {
        match self {
            CmdError::Msg(m) => Cow::Borrowed(m),
            other => Cow::Owned(other.to_string()),
        }
    }
}

pub type CmdResult = Result<(), CmdError>;
