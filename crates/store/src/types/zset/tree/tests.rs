use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::super::key_cmp;
use super::*;

impl Tree {
    /// Validates every invariant, panicking on the first broken one: arena,
    /// holes, free list and index agree; leaves hold LEAF_MIN..=LEAF_CAP
    /// entries and inner nodes INNER_MIN..=INNER_CAP children (the root fewer),
    /// (the first and last leaves may hold one entry), all leaves at one
    /// depth, unused scores NaN; counts are subtree sizes; each key is the
    /// smallest entry under the child after it; leaf links follow the order;
    /// entries are strictly ascending and name each live member once, with its
    /// score; no node is unreachable or shared.
    pub(crate) fn check(&self) {
        let slots: Vec<&Slot> = self.slots.iter().collect();
        let live = slots.iter().filter(|s| !s.is_hole()).count();
        assert_eq!(live, self.len, "live slots");
        assert_eq!(slots.len() - live, self.holes, "holes");
        assert!(slots.last().is_none_or(|s| !s.is_hole()), "arena trimmed");
        let free: HashSet<u32> = self.free.iter().copied().collect();
        for (i, s) in slots.iter().enumerate() {
            if s.is_hole() {
                assert!(free.contains(&(i as u32)), "hole {i} is in the free list");
                assert!(s.member.is_empty(), "hole {i} holds no member");
            } else {
                assert_eq!(self.find(&s.member), Some(i as u32), "index finds slot {i}");
            }
        }
        assert_eq!(self.table.len(), live, "index size");
        for id in self.table.ids() {
            assert!(
                slots.get(id as usize).is_some_and(|s| !s.is_hole()),
                "index entry {id} names a live slot"
            );
        }

        if self.root == NIL {
            assert_eq!(self.len, 0);
            assert_eq!(self.height, 0);
            assert!(self.leaves.is_empty() && self.inners.is_empty(), "no nodes");
            return;
        }
        let mut walk = Walk::default();
        let (count, _) = self.check_node(self.root, self.height, 0, &mut walk);
        assert_eq!(count as usize, self.len, "root count");
        assert_eq!(walk.leaves.len(), self.leaves.len(), "every leaf reachable");
        assert_eq!(
            walk.inners.len(),
            self.inners.len(),
            "every inner reachable"
        );
        let order = &walk.order;
        for (i, &l) in order.iter().enumerate() {
            let leaf = &self.leaves[l as usize];
            let prev = if i > 0 { order[i - 1] } else { NIL };
            let next = order.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!((leaf.prev, leaf.next), (prev, next), "links of leaf {l}");
        }
        let entries: Vec<Key> = order
            .iter()
            .flat_map(|&l| {
                let leaf = &self.leaves[l as usize];
                (0..leaf.n()).map(move |i| (leaf.scores[i], leaf.ids[i]))
            })
            .collect();
        let mut ids = HashSet::new();
        for &(s, id) in &entries {
            let slot = slots[id as usize];
            assert!(!slot.is_hole(), "entry {id} is live");
            assert_eq!(slot.score.to_bits(), s.to_bits(), "score of entry {id}");
            assert!(ids.insert(id), "entry {id} once");
        }
        for w in entries.windows(2) {
            let (a, b) = (slots[w[0].1 as usize], slots[w[1].1 as usize]);
            assert_eq!(
                key_cmp(a.score, &a.member, b.score, &b.member),
                Ordering::Less,
                "ascending entries"
            );
        }
    }

    /// Checks the subtree at `node` (`level` inner levels above its leaves,
    /// `siblings` children in its parent, 0 for the root); returns its entry
    /// count and smallest entry.
    fn check_node(&self, node: u32, level: usize, siblings: usize, w: &mut Walk) -> (u32, Key) {
        if level == 0 {
            assert!(w.leaves.insert(node), "leaf {node} reached once");
            let l = &self.leaves[node as usize];
            // The first and last leaves of the order may hold a single entry.
            let edge = l.prev == NIL || l.next == NIL;
            let min = if edge { 1 } else { LEAF_MIN };
            assert!(
                siblings >= 3 || edge,
                "a leaf under a root of two is an edge"
            );
            assert!(
                l.n() >= min && l.n() <= LEAF_CAP,
                "leaf {node} size {}",
                l.n()
            );
            assert!(
                l.scores[l.n()..].iter().all(|s| s.is_nan()),
                "leaf {node} padding"
            );
            w.order.push(node);
            return (l.len, l.first());
        }
        assert!(w.inners.insert(node), "inner {node} reached once");
        let n = &self.inners[node as usize];
        assert!(n.n() <= INNER_CAP, "inner {node} size");
        let min = if siblings == 0 { 2 } else { INNER_MIN };
        assert!(n.n() >= min, "inner {node} fill");
        assert!(
            n.key_scores[n.n() - 1..].iter().all(|s| s.is_nan()),
            "inner {node} padding"
        );
        let mut total = 0;
        let mut first = (0.0, NIL);
        for c in 0..n.n() {
            let (count, min) = self.check_node(n.children[c], level - 1, n.n(), w);
            assert_eq!(n.counts[c], count, "count of child {c} of {node}");
            if c == 0 {
                first = min;
            } else {
                let k = n.key(c - 1);
                assert_eq!(
                    (k.0.to_bits(), k.1),
                    (min.0.to_bits(), min.1),
                    "key {} of {node} is its child's smallest entry",
                    c - 1
                );
            }
            total += count;
        }
        (total, first)
    }

    /// (leaves, inner nodes) allocated.
    pub(crate) fn node_counts(&self) -> (usize, usize) {
        (self.leaves.len(), self.inners.len())
    }
}

#[derive(Default)]
struct Walk {
    leaves: HashSet<u32>,
    inners: HashSet<u32>,
    order: Vec<u32>,
}

/// SplitMix64: a small deterministic generator for tests and the bench.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Few distinct scores, so ties (decided by the member bytes) are common.
const SCORES: [f64; 8] = [
    f64::NEG_INFINITY,
    -2.5,
    -0.0,
    0.0,
    1.0,
    3.0,
    1e300,
    f64::INFINITY,
];

/// Member `i`: decimal digits, so byte order differs from numeric order and
/// lengths vary; every 7th has a binary tail.
fn member(i: u16) -> Vec<u8> {
    let mut m = i.to_string().into_bytes();
    if i.is_multiple_of(7) {
        m.extend_from_slice(b"\0\xff");
    }
    m
}

#[derive(Debug, Clone)]
enum Op {
    /// Adds or updates one member.
    Add(u16, u8),
    Remove(u16),
    /// Adds or updates members `start..start + n`, scores in a pattern.
    Bulk(u16, u16, u8),
    /// Removes members `start..start + n`.
    BulkRemove(u16, u16),
    /// Checks every query against the model.
    Query,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u16..4000, 0u8..8).prop_map(|(m, s)| Op::Add(m, s)),
        4 => (0u16..4000).prop_map(Op::Remove),
        2 => (0u16..4000, 0u16..2500, any::<u8>()).prop_map(|(a, n, k)| Op::Bulk(a, n, k)),
        2 => (0u16..4000, 0u16..2500).prop_map(|(a, n)| Op::BulkRemove(a, n)),
        1 => Just(Op::Query),
    ]
}

/// Applies one add to both, checking the outcome.
fn add(t: &mut Tree, model: &mut HashMap<Vec<u8>, f64>, m: Vec<u8>, s: f64) {
    let want = match model.get(&m) {
        None => AddOutcome::Added,
        Some(&old) if old == s => AddOutcome::Unchanged,
        Some(_) => AddOutcome::Updated,
    };
    assert_eq!(t.add(&m, s), want, "add {m:?} {s}");
    if want != AddOutcome::Unchanged {
        model.insert(m, s);
    }
}

fn remove(t: &mut Tree, model: &mut HashMap<Vec<u8>, f64>, m: &[u8]) {
    assert_eq!(t.remove(m), model.remove(m), "remove {m:?}");
}

/// Checks every query of `t` against `model`.
fn check_queries(t: &mut Tree, model: &HashMap<Vec<u8>, f64>) {
    t.check();
    let mut sorted: Vec<(&[u8], f64)> = model.iter().map(|(m, &s)| (&m[..], s)).collect();
    sorted.sort_by(|a, b| key_cmp(a.1, a.0, b.1, b.0));
    let n = sorted.len();
    assert_eq!(t.len(), n);
    for (i, &(m, s)) in sorted.iter().enumerate() {
        assert_eq!(t.score(m).map(f64::to_bits), Some(s.to_bits()), "score");
        assert_eq!(t.rank(m), Some(i), "rank of {m:?}");
        assert_eq!(t.select(i), Some((m, s)), "select {i}");
    }
    assert_eq!(t.select(n), None);
    assert_eq!(t.rank(b"absent"), None);
    assert_eq!(t.score(b"absent"), None);
    for k in [0, 1, n / 3, n / 2, n.saturating_sub(1), n, n + 5] {
        let fwd: Vec<_> = t.iter_from(k, false).collect();
        assert_eq!(fwd, sorted[k.min(n)..], "ascending from {k}");
        let rev: Vec<_> = t.iter_from(k, true).collect();
        let top = if n == 0 { 0 } else { k.min(n - 1) + 1 };
        let want: Vec<_> = sorted[..top].iter().rev().copied().collect();
        assert_eq!(rev, want, "descending from {k}");
    }
    for &th in &SCORES {
        let lt = sorted.iter().filter(|e| e.1 < th).count();
        assert_eq!(t.count_before(|s, _| s < th), lt, "count < {th}");
        let le = sorted.iter().filter(|e| e.1 <= th).count();
        assert_eq!(t.count_before(|s, _| s <= th), le, "count <= {th}");
        // A bound inside a run of ties: members decide.
        let mm = b"2".as_slice();
        let before = |s: f64, m: &[u8]| key_cmp(s, m, th, mm) == Ordering::Less;
        let want = sorted.iter().filter(|e| before(e.1, e.0)).count();
        assert_eq!(t.count_before(before), want, "count before ({th}, 2)");
    }
    // A whole ZSCAN returns every member once.
    let mut seen = HashMap::new();
    let mut cursor = 0;
    loop {
        cursor = t.scan(cursor, 37, |m, s| {
            assert!(seen.insert(m.to_vec(), s).is_none(), "{m:?} scanned once");
        });
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(&seen, model, "scan");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The tree answers like a sorted model through adds, score updates and
    /// removals big enough to split and merge at two levels, grow and shrink
    /// the root, and compact the member arena.
    #[test]
    fn tree_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut t = Tree::default();
        let mut model = HashMap::new();
        for (step, o) in ops.into_iter().enumerate() {
            match o {
                Op::Add(m, s) => add(&mut t, &mut model, member(m), SCORES[s as usize]),
                Op::Remove(m) => remove(&mut t, &mut model, &member(m)),
                Op::Bulk(a, n, k) => {
                    for i in a..a.saturating_add(n).min(4000) {
                        let s = match k % 4 {
                            0 => SCORES[(i as usize * 5 + k as usize) % 8],
                            1 => f64::from(i),
                            2 => -f64::from(i),
                            _ => f64::from(k),
                        };
                        add(&mut t, &mut model, member(i), s);
                    }
                }
                Op::BulkRemove(a, n) => {
                    for i in a..a.saturating_add(n).min(4000) {
                        remove(&mut t, &mut model, &member(i));
                    }
                }
                Op::Query => check_queries(&mut t, &model),
            }
            if step % 8 == 0 {
                t.check();
            }
        }
        check_queries(&mut t, &model);
    }
}

/// 200k members in, most of them out again: the structure stays consistent
/// and its nodes and arena shrink with it.
#[test]
fn mass_insert_then_removal_gives_memory_back() {
    let mut rng = Rng(7);
    let mut t = Tree::default();
    let n = 200_000u32;
    let name = |i: u32| format!("member:{i}").into_bytes();
    for i in 0..n {
        t.add(&name(i), rng.below(1000) as f64);
    }
    t.check();
    let (leaves, inners) = t.node_counts();
    assert!(t.height >= 3, "height {}", t.height);
    // Update a quarter in place or across the tree.
    for _ in 0..50_000 {
        let i = rng.below(u64::from(n)) as u32;
        t.add(&name(i), rng.below(1000) as f64);
    }
    t.check();
    let mut order: Vec<u32> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (k, &i) in order[..195_000].iter().enumerate() {
        assert!(t.remove(&name(i)).is_some());
        if k % 40_000 == 0 {
            t.check();
        }
    }
    t.check();
    assert_eq!(t.len(), 5000);
    let (l2, i2) = t.node_counts();
    assert!(
        l2 * 10 < leaves && i2 * 10 < inners,
        "{leaves}->{l2} {inners}->{i2}"
    );
    assert!(t.slots.len() < 12_000, "arena {}", t.slots.len());
    for &i in &order[195_000..] {
        assert!(t.score(&name(i)).is_some());
    }
    for &i in &order[195_000..] {
        t.remove(&name(i));
    }
    t.check();
    assert_eq!(t.node_counts(), (0, 0));
    assert_eq!(t.slots.len(), 0);
}

/// Ascending inserts (timestamps) fill leaves instead of leaving them half
/// empty after each split.
#[test]
fn ascending_inserts_fill_leaves() {
    let mut t = Tree::default();
    for i in 0..100_000u32 {
        t.add(format!("m{i}").as_bytes(), f64::from(i));
    }
    t.check();
    let (leaves, _) = t.node_counts();
    assert!(leaves * LEAF_CAP * 9 < 100_000 * 10, "{leaves} leaves");
}

/// A score update that stays inside its leaf moves the entry there; one that
/// leaves it goes through the tree; both keep every invariant.
#[test]
fn nudged_scores_stay_ordered() {
    let mut t = Tree::default();
    let mut model = HashMap::new();
    for i in 0..3000u16 {
        add(&mut t, &mut model, member(i), f64::from(i));
    }
    let mut rng = Rng(3);
    for _ in 0..20_000 {
        let i = rng.below(3000) as u16;
        let old = model[&member(i)];
        let s = old + (rng.below(9) as f64 - 4.0) * 0.75;
        add(&mut t, &mut model, member(i), s);
    }
    check_queries(&mut t, &model);
}

/// What `redis-benchmark -P 16 -t zadd -r 100000` does to one set: score
/// updates of random members of a 100k-member set, to random integer
/// scores. Run with
/// `cargo test --release -p tandem-store bench_updates -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_updates() {
    const N: u64 = 100_000;
    let names: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("element:{i:012}").into_bytes())
        .collect();
    let mut rng = Rng(42);
    let mut t = Tree::default();
    for m in &names {
        t.add(m, rng.below(N) as f64);
    }
    let fill = |t: &Tree| t.len() as f64 / (t.node_counts().0 * LEAF_CAP) as f64;
    let built = fill(&t);
    let ops: Vec<(u32, f64)> = (0..2_000_000)
        .map(|_| (rng.below(N) as u32, rng.below(N) as f64))
        .collect();
    // Mean ns per call over `ops`, and the best of four quarters (the
    // machine is noisy).
    let time = |ops: &[(u32, f64)], f: &mut dyn FnMut(u32, f64)| {
        let mut quarters = Vec::new();
        for q in ops.chunks(ops.len() / 4) {
            let start = std::time::Instant::now();
            for &(m, s) in q {
                f(m, s);
            }
            quarters.push(start.elapsed().as_nanos() as f64 / q.len() as f64);
        }
        let mean = quarters.iter().sum::<f64>() / quarters.len() as f64;
        let best = quarters.iter().copied().fold(f64::INFINITY, f64::min);
        format!("{mean:.0} (best {best:.0})")
    };
    let mut changed = 0;
    let upd = time(&ops, &mut |m, s| {
        changed += usize::from(t.add(&names[m as usize], s) != AddOutcome::Unchanged);
    });
    let mut acc = 0;
    let rank = time(&ops[..1_000_000], &mut |m, _| {
        acc += t.rank(&names[m as usize]).unwrap_or(0);
    });
    let select = time(&ops[..1_000_000], &mut |m, _| {
        acc += t.select(m as usize).map_or(0, |(_, s)| s as usize);
    });
    let score = time(&ops[..1_000_000], &mut |m, _| {
        acc += t.score(&names[m as usize]).unwrap_or(0.0) as usize;
    });
    let walk = time(&ops[..100_000], &mut |m, _| {
        let k = m as usize % (N as usize - 100);
        for (mm, s) in t.iter_from(k, m % 2 == 0).take(100) {
            acc += mm.len() + s as usize;
        }
    });
    let count = time(&ops[..1_000_000], &mut |_, s| {
        acc += t.count_before(|x, _| x < s);
    });
    let (leaves, inners) = t.node_counts();
    let per_member = (t.slots.len() * std::mem::size_of::<Slot>()
        + leaves * std::mem::size_of::<Leaf>()
        + inners * std::mem::size_of::<Inner>()) as f64
        / t.len() as f64;
    println!(
        "update {upd} ns, rank {rank} ns, select {select} ns, score {score} ns, \
         iter_from+100 {walk} ns, count_before {count} ns; leaf fill {built:.2} built, {:.2} after updates; \
         {per_member:.1} B/member (slot {} leaf {} inner {}), height {} ({changed} {acc})",
        fill(&t),
        std::mem::size_of::<Slot>(),
        std::mem::size_of::<Leaf>(),
        std::mem::size_of::<Inner>(),
        t.height,
    );
}

/// All scores equal (a ZRANGEBYLEX set): every comparison reads members.
/// Removes and re-adds random members of a 100k-member set. Run with
/// `cargo test --release -p tandem-store bench_lex -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_lex() {
    const N: u64 = 100_000;
    let names: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("element:{i:012}").into_bytes())
        .collect();
    let mut t = Tree::default();
    for m in &names {
        t.add(m, 0.0);
    }
    let mut rng = Rng(9);
    let ops: Vec<u32> = (0..1_000_000).map(|_| rng.below(N) as u32).collect();
    let start = std::time::Instant::now();
    for &m in &ops {
        let m = &names[m as usize];
        t.remove(m);
        t.add(m, 0.0);
    }
    let churn = start.elapsed().as_nanos() as f64 / ops.len() as f64;
    let start = std::time::Instant::now();
    let mut acc = 0;
    for &m in &ops {
        acc += t.rank(&names[m as usize]).unwrap_or(0);
    }
    let rank = start.elapsed().as_nanos() as f64 / ops.len() as f64;
    println!("lex: remove+add {churn:.0} ns, rank {rank:.0} ns ({acc})");
}
