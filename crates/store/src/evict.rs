//! evict (placeholder; the keyspace helper owns this file).
