//! Geospatial commands against a real redis-server, reply for reply, in RESP2
//! and RESP3: the examples of Redis's documentation, searches by radius and
//! by box, from a member and from a position, sorted, counted (with ANY),
//! stored (with STOREDIST), and the errors in Redis's order. The differential
//! test runs random ones as well.

mod common;

use common::Proc;

const CASES: &[&str] = &[
    "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    "GEOADD Sicily NX CH 13.583333 37.316667 Agrigento 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
    "GEOADD Sicily XX CH 13.361389 38.115557 Palermo",
    "GEODIST Sicily Palermo Catania",
    "GEODIST Sicily Palermo Catania km",
    "GEODIST Sicily Palermo Catania mi",
    "GEODIST Sicily Foo Bar",
    "GEODIST nokey a b",
    "GEOHASH Sicily Palermo Catania nope",
    "GEOPOS Sicily Palermo Catania NonExisting",
    "GEORADIUS Sicily 15 37 200 km WITHDIST",
    "GEORADIUS Sicily 15 37 200 km WITHCOORD",
    "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH",
    "GEORADIUS Sicily 15 37 200 km COUNT 1 ASC",
    "GEORADIUS Sicily 15 37 400 km COUNT 2 ANY",
    "GEORADIUSBYMEMBER Sicily Agrigento 100 km",
    "GEORADIUSBYMEMBER_RO Sicily Palermo 1000 ft DESC",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST",
    "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 300 60 mi DESC COUNT 3",
    "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3",
    "ZRANGE dst 0 -1 WITHSCORES",
    "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3 STOREDIST",
    "ZRANGE dst 0 -1 WITHSCORES",
    "GEORADIUS Sicily 15 37 1 m STORE dst",
    "EXISTS dst",
    "GEORADIUS Sicily 15 37 200 km STOREDIST dst2 ASC",
    "ZRANGE dst2 0 -1 WITHSCORES",
    "GEOADD Sicily 200 100 m",
    "GEOADD Sicily NX XX 1 1 m",
    "GEOADD Sicily 1 2 m 3",
    "GEORADIUS Sicily 15 37 -1 km",
    "GEORADIUS Sicily 15 37 x km",
    "GEORADIUS Sicily 15 37 1 parsec",
    "GEORADIUS Sicily 15 37 1 km COUNT 0",
    "GEORADIUS Sicily 15 37 1 km ANY",
    "GEORADIUS Sicily 15 37 1 km STORE d WITHDIST",
    "GEORADIUS_RO Sicily 15 37 1 km STORE d",
    "GEORADIUSBYMEMBER Sicily nope 1 km",
    "GEOSEARCH Sicily BYRADIUS 1 km",
    "geosearch Sicily FROMLONLAT 1 1",
    "GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX -1 1 m",
    "GEOSEARCH Sicily FROMLONLAT 1 1 FROMMEMBER Palermo BYRADIUS 1 m",
    "GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 m STOREDIST",
    "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 1 km WITHDIST",
    "GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km",
    "GEOSEARCHSTORE dst2 nokey FROMMEMBER x BYRADIUS 1 km",
    "EXISTS dst2",
    "SET str x",
    "GEOPOS str a",
    "GEORADIUS str 1 1 x km",
    "ZADD z 1 a -5 b 1e300 c",
    "GEOPOS z a b c",
    "GEOHASH z a b c",
];

/// Each case's raw reply (inline commands over one connection).
fn run(p: &Proc, resp3: bool) -> Vec<String> {
    let requests: Vec<(String, Vec<u8>)> = CASES
        .iter()
        .map(|c| (c.to_string(), format!("{c}\r\n").into_bytes()))
        .collect();
    common::transcript(p, resp3, &requests)
}

#[test]
fn geo_replies_as_redis_does() {
    for resp3 in [false, true] {
        let tandem = run(&Proc::tandem(&[]), resp3);
        let redis = run(&Proc::redis(&[]), resp3);
        for (t, r) in tandem.iter().zip(&redis) {
            assert_eq!(t, r, "RESP{}", if resp3 { 3 } else { 2 });
        }
        assert!(tandem[4].contains("166.2742"), "{}", tandem[4]);
    }
}
