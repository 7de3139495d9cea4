//! Unit tests of the stream commands' parsing and of the node model.

use super::*;
