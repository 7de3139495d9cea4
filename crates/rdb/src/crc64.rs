//! CRC-64/Jones as Redis uses it (`src/crc64.c`): polynomial 0xad93d23594c935a9,
//! reflected input/output, init 0, no final xor. Slicing by 8 (eight tables built
//! at compile time, eight bytes per step), as Redis's `crcspeed`: a byte at a
//! time ran at about 450 MB/s, a tenth of a 1.4M-key restart.

/// The polynomial in reflected (LSB-first) form.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLE: [u64; 256] = build_table();
/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
const TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    t[0] = build_table();
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

const fn build_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// Incremental CRC-64/Jones state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Crc64(pub u64);

impl Crc64 {
    pub fn new() -> Self {
        Crc64(0)
    }

    pub fn update(&mut self, data: &[u8]) {
        let mut crc = self.0;
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            let x = crc ^ u64::from_le_bytes(b);
            let t = &TABLES;
            crc = t[7][(x & 0xff) as usize]
                ^ t[6][((x >> 8) & 0xff) as usize]
                ^ t[5][((x >> 16) & 0xff) as usize]
                ^ t[4][((x >> 24) & 0xff) as usize]
                ^ t[3][((x >> 32) & 0xff) as usize]
                ^ t[2][((x >> 40) & 0xff) as usize]
                ^ t[1][((x >> 48) & 0xff) as usize]
                ^ t[0][(x >> 56) as usize];
        }
        for &b in words.remainder() {
            crc = TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
        }
        self.0 = crc;
    }

    pub fn value(&self) -> u64 {
        self.0
    }
}

/// CRC-64/Jones of `data` from a zero state.
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        // The catalogue check value of CRC-64/REDIS (and Redis's own crc64 self test).
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    /// Slicing by 8 gives the bytewise CRC for every length and split.
    #[test]
    fn sliced_equals_bytewise() {
        let bytewise = |data: &[u8]| {
            data.iter().fold(0u64, |crc, &b| {
                TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
            })
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for len in 0..data.len() {
            let d = &data[..len];
            assert_eq!(crc64(d), bytewise(d), "len {len}");
            let cut = len / 3;
            let mut c = Crc64::new();
            c.update(&d[..cut]);
            c.update(&d[cut..]);
            assert_eq!(c.value(), bytewise(d), "len {len} cut {cut}");
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = b"hello world, this is incremental";
        let mut c = Crc64::new();
        c.update(&data[..7]);
        c.update(&data[7..]);
        assert_eq!(c.value(), crc64(data));
        assert_eq!(crc64(b""), 0);
    }
}
