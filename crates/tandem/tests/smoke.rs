//! The binary starts and answers PING with PONG, through the `redis` crate and
//! through `redis-cli`.

mod common;

use common::Proc;

#[test]
fn server_answers_ping() {
    let p = Proc::tandem(&[]);
    let mut c = p.client();
    let pong: String = redis::cmd("PING").query(&mut c).expect("PING");
    assert_eq!(pong, "PONG");
    assert_eq!(p.cli_str(&["PING"]), "PONG");
}
