//! CRC-64/Jones as Redis uses it (`src/crc64.c`): polynomial 0xad93d23594c935a9,
//! reflected input/output, init 0, no final xor. Table-driven, one byte at a time,
//! which is plenty for snapshot sizes (the table is built at compile time).

/// The polynomial in reflected (LSB-first) form.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLE: [u64; 256] = build_table();

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
        for &b in data {
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
