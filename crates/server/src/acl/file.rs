//! The ACL file (`aclfile`): `user <name> <rules...>` lines, read at start and
//! by ACL LOAD, written by ACL SAVE, with Redis 7.0's error texts (and, as
//! 7.0, no comment lines). A load is all or nothing.

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;

use super::{describe_user, set_user, Acl, User};

/// The users a file defines, checked against each other; `current` gives the
/// default user when the file does not redefine it.
pub fn load(path: &str, current: &Acl) -> Result<BTreeMap<Bytes, User>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            os_error(&e)
        )
    })?;
    let mut users: BTreeMap<Bytes, User> = BTreeMap::new();
    let mut errors = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 2 || words[0] != "user" {
            errors.push_str(&format!(
                "{path}:{} should start with user keyword followed by the username. ",
                n + 1
            ));
            continue;
        }
        let name = Bytes::copy_from_slice(words[1].as_bytes());
        if users.contains_key(&name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {}. ",
                words[1],
                n + 1
            ));
            continue;
        }
        let rules: Vec<Bytes> = words[2..]
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        match set_user(None, &name, &rules, current.pubsub_all) {
            Ok(u) => {
                users.insert(name, u);
            }
            Err(e) => {
                let msg = e.text();
                let msg = msg
                    .split_once("': ")
                    .map_or(msg.as_str(), |(_, m)| m)
                    .trim_start_matches("ERR ");
                errors.push_str(&format!("{path}:{}: {msg}. ", n + 1));
            }
        }
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    if !users.contains_key(&b"default"[..]) {
        if let Some(d) = current.users.get(&b"default"[..]) {
            users.insert(Bytes::from_static(b"default"), d.clone());
        }
    }
    Ok(users)
}

/// Writes every user as ACL LIST does, through a temporary file renamed over
/// the old one.
pub fn save(path: &str, acl: &Acl) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp-{}", std::process::id());
    let mut f = std::fs::File::create(&tmp)?;
    for (name, u) in &acl.users {
        writeln!(
            f,
            "user {} {}",
            String::from_utf8_lossy(name),
            describe_user(u)
        )?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The C library's text for an I/O error (Redis prints strerror).
fn os_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}
