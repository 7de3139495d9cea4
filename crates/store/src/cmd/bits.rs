//! bits commands. (Placeholder; a helper owns this file.)

use crate::exec::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
