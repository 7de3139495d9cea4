//! List command tests.
