//! Geohash arithmetic as Redis 7.0 does it (geohash.c, geohash_helper.c):
//! 26 steps per axis interleaved into a 52-bit sorted-set score, latitude
//! limited to ±85.05112878 (web mercator), boxes, neighbours, the step a
//! search radius needs, and haversine distances on a sphere of Redis's radius.
//! Every formula keeps Redis's order of operations, so the floating-point
//! results are the same bits.

pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const STEP_MAX: u8 = 26;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(a: f64) -> f64 {
    a * D_R
}
fn rad_deg(a: f64) -> f64 {
    a / D_R
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges Redis indexes with.
pub const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    /// Redis's "zeroed" box (GZERO): skipped by searches.
    pub const ZERO: Hash = Hash { bits: 0, step: 0 };
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
    /// The box as a 52-bit score prefix (`geohashAlign52Bits`).
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// Bits of `x` in the even positions, of `y` in the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The even bits in the low half, the odd bits in the high half.
fn deinterleave64(v: u64) -> u64 {
    fn squash(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(v) | (squash(v >> 1) << 32)
}

/// `geohashEncode`: None outside Redis's limits or the given ranges.
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Some(Hash {
        bits: interleave64(lat_off as u32, lon_off as u32),
        step,
    })
}

/// `geohashDecode`: the box a hash names.
pub fn decode(lon_r: Range, lat_r: Range, h: Hash) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let sep = deinterleave64(h.bits);
    let ilat = sep as u32;
    let ilon = (sep >> 32) as u32;
    let div = (1u64 << h.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    Some(Area {
        lat: Range {
            min: lat_r.min + (f64::from(ilat) / div) * lat_scale,
            max: lat_r.min + (f64::from(ilat.wrapping_add(1)) / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (f64::from(ilon) / div) * lon_scale,
            max: lon_r.min + (f64::from(ilon.wrapping_add(1)) / div) * lon_scale,
        },
    })
}

/// A box's centre, clamped to the limits.
pub fn center(a: &Area) -> (f64, f64) {
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// C's `(uint64_t)` of a double as x86-64 compilers emit it (out-of-range
/// values give the "integer indefinite" pattern).
fn c_u64(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    let cvtt = |x: f64| -> u64 {
        if x.is_nan() || !(-TWO63..TWO63).contains(&x) {
            1 << 63
        } else {
            (x as i64) as u64
        }
    };
    // NaN compares unordered and takes the first path, as `comisd` does.
    if d >= TWO63 {
        cvtt(d - TWO63) ^ (1 << 63)
    } else {
        cvtt(d)
    }
}

/// The position a sorted-set score stands for (`decodeGeohash`), for any score.
pub fn decode_score(score: f64) -> (f64, f64) {
    let h = Hash {
        bits: c_u64(score),
        step: STEP_MAX,
    };
    decode(LON_RANGE, LAT_RANGE, h)
        .map(|a| center(&a))
        .unwrap_or((0.0, 0.0))
}

/// The score of a position (checked against the limits by the caller).
pub fn encode_score(lon: f64, lat: f64) -> Option<u64> {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).map(|h| h.align52())
}

fn move_x(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - u32::from(h.step) * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - u32::from(h.step) * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - u32::from(h.step) * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - u32::from(h.step) * 2);
    h.bits = x | y;
}

/// The eight neighbours, in Redis's order of search after the box itself:
/// north, south, east, west, north-east, north-west, south-east, south-west.
pub fn neighbors(h: Hash) -> [Hash; 8] {
    let at = |dx: i8, dy: i8| {
        let mut n = h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    [
        at(0, 1),
        at(0, -1),
        at(1, 0),
        at(-1, 0),
        at(1, 1),
        at(-1, 1),
        at(1, -1),
        at(-1, -1),
    ]
}

/// Haversine distance in meters (`geohashGetDistance`).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// A search area: a circle, or a box (width, height), around a centre.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// Where and what to search; sizes are in the unit, `conversion` turns them
/// into meters.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub conversion: f64,
}

impl Search {
    /// The distance to a point in meters if it is inside the area.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Shape::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                let lon_distance = distance(lon, lat, self.lon, lat);
                let lat_distance = distance(lon, lat, lon, self.lat);
                if lon_distance > w / 2.0 || lat_distance > h / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// `geohashBoundingBox`: [min lon, min lat, max lon, max lat].
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = match self.shape {
            Shape::Radius(r) => (self.conversion * r, self.conversion * r),
            Shape::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let southern = self.lat < 0.0;
        let (lo, hi) = if southern {
            (self.lon - long_delta_bottom, self.lon + long_delta_bottom)
        } else {
            (self.lon - long_delta_top, self.lon + long_delta_top)
        };
        [lo, self.lat - lat_delta, hi, self.lat + lat_delta]
    }

    /// `geohashCalculateAreasByShapeWGS84`: the box around the centre and
    /// its eight neighbours (those that cannot hold a result zeroed), in
    /// search order.
    pub fn boxes(&self) -> [Hash; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let radius_meters = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius_meters, self.lat);
        let at = |steps: u8| {
            let h = encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, steps).unwrap_or(Hash {
                bits: 0,
                step: steps,
            });
            (h, neighbors(h))
        };
        let (mut hash, mut n) = at(steps);
        let box_of = |h: Hash| decode(LON_RANGE, LAT_RANGE, h);
        let decrease = match (box_of(n[0]), box_of(n[1]), box_of(n[2]), box_of(n[3])) {
            (Some(north), Some(south), Some(east), Some(west)) => {
                north.lat.max < max_lat
                    || south.lat.min > min_lat
                    || east.lon.max < max_lon
                    || west.lon.min > min_lon
            }
            _ => false,
        };
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n) = at(steps);
        }
        if steps >= 2 {
            if let Some(area) = box_of(hash) {
                let [north, south, east, west, ne, nw, se, sw] = [0, 1, 2, 3, 4, 5, 6, 7];
                if area.lat.min < min_lat {
                    for i in [south, sw, se] {
                        n[i] = Hash::ZERO;
                    }
                }
                if area.lat.max > max_lat {
                    for i in [north, ne, nw] {
                        n[i] = Hash::ZERO;
                    }
                }
                if area.lon.min < min_lon {
                    for i in [west, sw, nw] {
                        n[i] = Hash::ZERO;
                    }
                }
                if area.lon.max > max_lon {
                    for i in [east, se, ne] {
                        n[i] = Hash::ZERO;
                    }
                }
            }
        }
        [hash, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]]
    }
}

/// `geohashEstimateStepsByRadius`.
fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// GEOHASH's 11-character string: the position re-encoded with the standard
/// latitude range (±90), 5 bits per character, the last one zero.
pub fn geohash_string(score: f64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let lat_std = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(LON_RANGE, lat_std, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            let idx = if i == 10 {
                0
            } else {
                ((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
            };
            ALPHABET[idx] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3FF_FFFF, 0x155_5555),
            (u32::MAX, 7),
        ] {
            let v = interleave64(x, y);
            let s = deinterleave64(v);
            assert_eq!((s as u32, (s >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn palermo_as_redis_stores_and_prints_it() {
        // Values from redis-server 7.0: GEOADD g 13.361389 38.115556 Palermo.
        let score = encode_score(13.361389, 38.115556).expect("in range");
        assert_eq!(score, 3479099956230698);
        let (lon, lat) = decode_score(score as f64);
        assert_eq!(tandem_resp::float::fmt_human(lon), "13.36138933897018433");
        assert_eq!(tandem_resp::float::fmt_human(lat), "38.11555639549629859");
        assert_eq!(geohash_string(score as f64), "sqc8b49rny0");
    }

    #[test]
    fn out_of_range_scores_decode_as_c_casts_them() {
        assert_eq!(c_u64(-1.0), u64::MAX);
        assert_eq!(c_u64(1.5), 1);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(1e19), 10_000_000_000_000_000_000);
    }
}
