//! Seeded randomness and argument makers for the differential command generator.
//!
//! Everything random flows from one [`Rng`] seeded by the test, so a failing seed
//! replays exactly. Arguments are drawn from deliberately small pools (a few keys per
//! family, a few members) so commands collide: they hit the same keys, the same
//! members and the wrong types often, which is where implementations differ.

/// One command as raw arguments (name first).
pub type Cmd = Vec<Vec<u8>>;

/// SplitMix64: tiny, fast, good enough for test generation, and free of crate
/// dependencies so the test binary needs nothing beyond the harness.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Which key pool a command draws from: each type has its own few keys, and all
/// share a few common ones so WRONGTYPE paths are exercised too.
#[derive(Clone, Copy)]
pub enum Kp {
    Str,
    List,
    Hash,
    Set,
    Zset,
    Hll,
    /// Streams: not part of `Any` (streams reach the shared keys, and so the
    /// other families, through XADD's own 15%).
    Stream,
    Any,
}

const SHARED_KEYS: &[&str] = &["x0", "x1", "x2"];

/// Arguments that are wrong on purpose, mixed into numeric positions.
const BAD_INTS: &[&str] = &[
    "abc",
    "1.5",
    "",
    "99999999999999999999",
    "-",
    " 1",
    "0x10",
    "9223372036854775808",
];
const BAD_FLOATS: &[&str] = &["abc", "1e", "", "1.2.3", "--1"];

/// Members shared by sets, hashes, sorted sets and lists: small integers (so sets
/// start as intsets), short words, and binary-safe oddities.
const MEMBERS: &[&str] = &[
    "a", "b", "c", "d", "e", "1", "2", "3", "10", "-5", "x\0y", "\r\n",
];

/// The generator state handed to every command maker.
pub struct G {
    pub rng: Rng,
    /// The last stream ID handed out (ms, seq): one counter for every key,
    /// so each stream's explicit IDs grow and replies stay deterministic.
    pub stream_id: (u64, u64),
}

impl G {
    pub fn new(seed: u64) -> G {
        G {
            rng: Rng::new(seed),
            stream_id: (1, 0),
        }
    }

    pub fn key(&mut self, kp: Kp) -> Vec<u8> {
        let prefix = match kp {
            Kp::Str => "s",
            Kp::List => "l",
            Kp::Hash => "h",
            Kp::Set => "t",
            Kp::Zset => "z",
            Kp::Hll => "p",
            Kp::Stream => "q",
            Kp::Any => {
                let all = ["s", "l", "h", "t", "z", "p"];
                *self.rng.pick(&all)
            }
        };
        // 15% of the time a shared key, whatever its current type.
        if self.rng.chance(15) {
            return self.rng.pick(SHARED_KEYS).as_bytes().to_vec();
        }
        format!("{prefix}{}", self.rng.below(3)).into_bytes()
    }

    /// 1..=n keys of a pool.
    pub fn keys(&mut self, kp: Kp, n: usize) -> Vec<Vec<u8>> {
        let k = 1 + self.rng.below(n);
        (0..k).map(|_| self.key(kp)).collect()
    }

    pub fn member(&mut self) -> Vec<u8> {
        self.rng.pick(MEMBERS).as_bytes().to_vec()
    }

    pub fn members(&mut self, n: usize) -> Vec<Vec<u8>> {
        let k = 1 + self.rng.below(n);
        (0..k).map(|_| self.member()).collect()
    }

    /// A string value: often an integer (so INCR and int encodings get used),
    /// sometimes binary, sometimes long enough to leave embstr.
    pub fn value(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0 | 1 => self.rng.range(-100, 100).to_string().into_bytes(),
            2 => b"bin\0\r\nary".to_vec(),
            3 => vec![b'v'; 1 + self.rng.below(60)],
            4 => "3.25".into(),
            5 => Vec::new(),
            _ => self.member(),
        }
    }

    /// An integer argument in `lo..=hi`, or (3%) a malformed one.
    pub fn int(&mut self, lo: i64, hi: i64) -> Vec<u8> {
        if self.rng.chance(3) {
            return self.rng.pick(BAD_INTS).as_bytes().to_vec();
        }
        self.rng.range(lo, hi).to_string().into_bytes()
    }

    /// An index for list/range commands: mostly small, sometimes negative, rarely huge.
    pub fn index(&mut self) -> Vec<u8> {
        if self.rng.chance(5) {
            return self
                .rng
                .pick(&["9223372036854775807", "-9223372036854775808", "1000"])
                .as_bytes()
                .to_vec();
        }
        self.int(-8, 8)
    }

    /// A float argument (scores, increments), or (3%) a malformed one.
    pub fn float(&mut self) -> Vec<u8> {
        if self.rng.chance(3) {
            return self.rng.pick(BAD_FLOATS).as_bytes().to_vec();
        }
        match self.rng.below(10) {
            0 => "-inf".into(),
            1 => "+inf".into(),
            2 => "1.5".into(),
            3 => "-2.25".into(),
            4 => "1e3".into(),
            5 => "0.1".into(),
            _ => self.rng.range(-5, 5).to_string().into_bytes(),
        }
    }

    /// A score range bound: numbers, exclusive `(` forms and infinities.
    pub fn score_bound(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0 => "-inf".into(),
            1 => "+inf".into(),
            2 => format!("({}", self.rng.range(-5, 5)).into_bytes(),
            3 => "(1.5".into(),
            4 if self.rng.chance(20) => "(abc".into(),
            _ => self.rng.range(-5, 5).to_string().into_bytes(),
        }
    }

    /// A lex range bound: `-`, `+`, `[m`, `(m`, or (rarely) an invalid one.
    pub fn lex_bound(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            0 => "-".into(),
            1 => "+".into(),
            2 if self.rng.chance(20) => "m".into(),
            3 | 4 => [b"(".to_vec(), self.member()].concat(),
            _ => [b"[".to_vec(), self.member()].concat(),
        }
    }

    /// A TTL in seconds large enough that nothing expires during a run.
    pub fn big_ttl(&mut self) -> Vec<u8> {
        self.rng.range(10_000, 1_000_000).to_string().into_bytes()
    }

    /// The same in milliseconds (for PX, PEXPIRE): at least 10,000 seconds too.
    pub fn big_ttl_ms(&mut self) -> Vec<u8> {
        [self.big_ttl(), b"000".to_vec()].concat()
    }

    /// An absolute Unix time in milliseconds, far in the future (or past, 10%).
    pub fn abs_time_ms(&mut self) -> Vec<u8> {
        [self.abs_time_s(), b"000".to_vec()].concat()
    }

    /// An absolute Unix time in seconds, far in the future (or in the past, 10%).
    pub fn abs_time_s(&mut self) -> Vec<u8> {
        if self.rng.chance(10) {
            return b"1000".to_vec();
        }
        (4_000_000_000i64 + self.rng.range(0, 1_000_000))
            .to_string()
            .into_bytes()
    }

    /// Pushes `arg` with probability `pct` percent.
    pub fn maybe(&mut self, cmd: &mut Cmd, pct: u32, arg: &str) {
        if self.rng.chance(pct) {
            cmd.push(arg.as_bytes().to_vec());
        }
    }

    /// Pushes one of `args` with probability `pct` percent.
    pub fn maybe_one(&mut self, cmd: &mut Cmd, pct: u32, args: &[&str]) {
        if self.rng.chance(pct) {
            cmd.push(self.rng.pick(args).as_bytes().to_vec());
        }
    }

    /// A count for `numkeys`-style arguments followed by those keys.
    pub fn numkeys(&mut self, cmd: &mut Cmd, kp: Kp, n: usize) -> usize {
        let ks = self.keys(kp, n);
        let k = ks.len();
        cmd.push(k.to_string().into_bytes());
        cmd.extend(ks);
        k
    }
}

/// Anything that can be one argument.
pub trait Arg {
    fn arg(self) -> Vec<u8>;
}
impl Arg for &str {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for String {
    fn arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}
impl Arg for Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self
    }
}
impl Arg for i64 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// `c!["SET", key, value]` builds a [`Cmd`].
#[macro_export]
macro_rules! c {
    ($($a:expr),* $(,)?) => { vec![$($crate::gen::Arg::arg($a)),*] };
}

/// Shows a command readably (binary bytes escaped).
pub fn show(cmd: &Cmd) -> String {
    cmd.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}
