//! Streams between the store's model and the RDB crate's neutral one. Loading
//! re-appends the entries, so the nodes are cut as this node's settings cut them
//! (Redis does the same: it keeps the file's listpacks only as a layout detail),
//! then restores the counters, the groups, their PELs and consumers as saved.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tandem_rdb::{RdbStream, RdbStreamConsumer, RdbStreamGroup, StreamId as RdbId};
use tandem_store::types::stream::{Consumer, Group, Nack, Stream, StreamId};
use tandem_store::StoreConfig;

fn to_id(id: RdbId) -> StreamId {
    StreamId::new(id.ms, id.seq)
}

fn from_id(id: StreamId) -> RdbId {
    RdbId {
        ms: id.ms,
        seq: id.seq,
    }
}

/// The neutral model of a stream (snapshots, DUMP).
pub fn to_rdb(s: &Stream) -> RdbStream {
    let entries = s
        .entries()
        .map(|e| {
            let pairs = e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            (from_id(e.id), pairs)
        })
        .collect();
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| RdbStreamGroup {
            name: name.to_vec(),
            last_id: from_id(g.last_id),
            entries_read: g.entries_read,
            pel: g
                .pel
                .iter()
                .map(|(id, n)| {
                    (
                        from_id(*id),
                        n.delivery_time.max(0) as u64,
                        n.delivery_count,
                    )
                })
                .collect(),
            consumers: g
                .consumers
                .iter()
                .map(|(cname, c)| RdbStreamConsumer {
                    name: cname.to_vec(),
                    seen_time: c.seen_time.max(0) as u64,
                    pel: c.pel.iter().map(|id| from_id(*id)).collect(),
                })
                .collect(),
        })
        .collect();
    RdbStream {
        entries,
        last_id: from_id(s.last_id),
        first_id: from_id(s.first_id),
        max_deleted_id: from_id(s.max_deleted_id),
        entries_added: s.entries_added,
        groups,
    }
}

/// The store's stream for a decoded one; an error for what Redis's loader
/// refuses (IDs out of order, a pending entry without its owner).
pub fn from_rdb(r: RdbStream, cfg: &StoreConfig) -> Result<Stream, String> {
    let mut s = Stream::new();
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for (id, pairs) in r.entries {
        fields.clear();
        fields.extend(pairs.into_iter().flat_map(|(f, v)| [f, v]));
        s.append(to_id(id), &fields, cfg)
            .map_err(|_| "Stream entries out of order or too large".to_string())?;
    }
    s.last_id = to_id(r.last_id);
    s.first_id = to_id(r.first_id);
    s.max_deleted_id = to_id(r.max_deleted_id);
    s.entries_added = r.entries_added;
    for g in r.groups {
        let mut owner: HashMap<RdbId, &[u8]> = HashMap::new();
        for c in &g.consumers {
            for id in &c.pel {
                owner.insert(*id, &c.name);
            }
        }
        let mut pel = BTreeMap::new();
        for (id, time, count) in &g.pel {
            let Some(name) = owner.get(id) else {
                return Err("Stream PEL entry without a consumer".into());
            };
            pel.insert(
                to_id(*id),
                Nack {
                    consumer: Box::from(*name),
                    delivery_time: *time as i64,
                    delivery_count: *count,
                },
            );
        }
        let mut consumers = BTreeMap::new();
        for c in &g.consumers {
            let ids: BTreeSet<StreamId> = c.pel.iter().map(|id| to_id(*id)).collect();
            if ids.iter().any(|id| !pel.contains_key(id)) {
                return Err("Stream consumer PEL entry not in the group PEL".into());
            }
            consumers.insert(
                Box::from(&c.name[..]),
                Consumer {
                    seen_time: c.seen_time as i64,
                    pel: ids,
                },
            );
        }
        let group = Group {
            last_id: to_id(g.last_id),
            entries_read: g.entries_read,
            pel,
            consumers,
        };
        if s.groups.insert(g.name.into_boxed_slice(), group).is_some() {
            return Err("Duplicated consumer group name".into());
        }
    }
    Ok(s)
}
