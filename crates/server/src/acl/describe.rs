//! How ACL LIST and ACL GETUSER describe a user, as Redis 7.0 does: flags,
//! password hashes, key and channel patterns, and the command rules rebuilt
//! from the permission bits by Redis's best fit over categories (start from
//! `+@all` or `-@all`, add the category that matches most and differs least
//! until none helps, then single commands and subcommands). Redis lists the
//! single commands in its command dict's order, which is random per process;
//! Tandem lists them in its table's order.

use tandem_resp::ReplyBuf;

use super::{hex, Selector, User, READ, WRITE};
use crate::cmd_acl::CATEGORIES;

/// The command rules of a selector (`-@all +@hash +get -hset`).
pub fn command_rules(s: &Selector) -> String {
    let additive = !s.can_run_future_commands();
    let mut rules: Vec<String> = vec![if additive { "-@all" } else { "+@all" }.into()];
    let mut fake = Selector::empty(false);
    fake.set_all(!additive);
    let mut temp = s.clone();
    let mut applied = [false; CATEGORIES.len()];
    loop {
        let mut best = None;
        let (mut mindiff, mut maxsame) = (usize::MAX, 0);
        for (j, cat) in CATEGORIES.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = count(&temp, &format!("@{cat}"));
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                best = Some(j);
                mindiff = diff;
                maxsame = same;
            }
        }
        let Some(j) = best else { break };
        let tag = format!("@{}", CATEGORIES[j]);
        fake.set_category(&tag, additive);
        temp.set_category(&tag, !additive);
        rules.push(format!("{}{tag}", if additive { '+' } else { '-' }));
        applied[j] = true;
    }
    for spec in tandem_commands::all() {
        let (user, had) = (s.bit(spec.id as usize), fake.bit(spec.id as usize));
        if user != had {
            rules.push(format!(
                "{}{}",
                if user { '+' } else { '-' },
                spec.full_name
            ));
            fake.set_command(spec, user);
        }
        for sub in spec.subcommands {
            let (user, had) = (s.bit(sub.id as usize), fake.bit(sub.id as usize));
            if user != had {
                rules.push(format!("{}{}", if user { '+' } else { '-' }, sub.full_name));
                fake.set_bit(sub.id as usize, user);
            }
        }
        if let Some(args) = s
            .first_args
            .get(&spec.id)
            .filter(|_| !s.bit(spec.id as usize))
        {
            for a in args {
                rules.push(format!(
                    "+{}|{}",
                    spec.full_name,
                    String::from_utf8_lossy(a)
                ));
            }
        }
    }
    rules.join(" ")
}

/// Commands (and subcommands) of a category whose bit is on, and off.
fn count(s: &Selector, tag: &str) -> (usize, usize) {
    let (mut on, mut off) = (0, 0);
    for spec in tandem_commands::all_with_subcommands() {
        if spec.acl_categories.contains(&tag) {
            if s.bit(spec.id as usize) {
                on += 1;
            } else {
                off += 1;
            }
        }
    }
    (on, off)
}

/// The key patterns (`~*`, `~a* %R~b*`).
fn keys(s: &Selector) -> String {
    if s.allkeys {
        return "~*".into();
    }
    s.keys
        .iter()
        .map(|(f, p)| {
            let p = String::from_utf8_lossy(p);
            match *f {
                x if x == READ | WRITE => format!("~{p}"),
                READ => format!("%R~{p}"),
                WRITE => format!("%W~{p}"),
                _ => format!("~{p}"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The channel patterns (`&*`, `&a &b`).
fn channels(s: &Selector) -> String {
    if s.allchannels {
        return "&*".into();
    }
    s.channels
        .iter()
        .map(|c| format!("&{}", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A selector as ACL LIST writes it.
fn describe_selector(s: &Selector) -> String {
    let mut parts = Vec::new();
    let k = keys(s);
    if !k.is_empty() {
        parts.push(k);
    }
    if s.allchannels {
        parts.push("&*".into());
    } else {
        parts.push("resetchannels".into());
        let c = channels(s);
        if !c.is_empty() {
            parts.push(c);
        }
    }
    parts.push(command_rules(s));
    parts.join(" ")
}

fn flags(u: &User) -> Vec<&'static str> {
    let mut f = vec![if u.enabled { "on" } else { "off" }];
    if u.nopass {
        f.push("nopass");
    }
    match u.sanitize {
        Some(false) => f.push("skip-sanitize-payload"),
        Some(true) => f.push("sanitize-payload"),
        None => {}
    }
    f
}

/// A user's ACL LIST line, without the leading `user <name> `.
pub fn describe_user(u: &User) -> String {
    let mut parts: Vec<String> = flags(u).into_iter().map(str::to_string).collect();
    parts.extend(u.passwords.iter().map(|h| format!("#{}", hex(h))));
    parts.push(describe_selector(&u.root));
    for s in &u.selectors {
        parts.push(format!("({})", describe_selector(s)));
    }
    parts.join(" ")
}

fn selector_fields(out: &mut ReplyBuf, s: &Selector) {
    out.bulk(b"commands");
    out.bulk(command_rules(s).as_bytes());
    out.bulk(b"keys");
    out.bulk(keys(s).as_bytes());
    out.bulk(b"channels");
    out.bulk(channels(s).as_bytes());
}

/// ACL GETUSER's reply.
pub fn reply_getuser(out: &mut ReplyBuf, u: &User) {
    out.map(6);
    out.bulk(b"flags");
    let f = flags(u);
    out.set(f.len());
    for x in f {
        out.bulk(x.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(u.passwords.len());
    for h in &u.passwords {
        out.bulk(hex(h).as_bytes());
    }
    selector_fields(out, &u.root);
    out.bulk(b"selectors");
    out.array(u.selectors.len());
    for s in &u.selectors {
        out.map(3);
        selector_fields(out, s);
    }
}
