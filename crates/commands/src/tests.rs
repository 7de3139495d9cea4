//! Unit tests over the generated table.
