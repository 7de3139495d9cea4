//! ACL SETUSER's rules, applied as Redis 7.0's `ACLSetUser`/`ACLSetSelector`
//! apply them, with its error texts. The rules go to a copy of the user; the
//! caller keeps the copy only if every rule applied.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Selector, User, READ, WRITE};

/// Why a rule was refused (the text after "Error in ACL SETUSER modifier").
#[derive(Debug, Clone, PartialEq)]
pub enum SetUserError {
    /// The rule and its error text.
    Rule(String, &'static str),
    /// A `(` selector never closed, with the argument where it started.
    Unmatched(String),
}

impl SetUserError {
    pub fn text(&self) -> String {
        match self {
            SetUserError::Rule(op, msg) => {
                format!("ERR Error in ACL SETUSER modifier '{op}': {msg}")
            }
            SetUserError::Unmatched(at) => {
                format!("ERR Unmatched parenthesis in acl selector starting at '{at}'.")
            }
        }
    }
}

const SYNTAX: &str = "Syntax error";
const UNKNOWN: &str = "Unknown command or category name in ACL";
const NO_SUCH_PASS: &str = "The password you are trying to remove from the user does not exist";
const BAD_HASH: &str =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
const KEYS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const CHANNELS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const FIRST_ARG_OF_SUB: &str = "Allowing first-arg of a subcommand is not supported";

/// Joins `(`...`)` selector arguments into one rule each, as Redis's
/// ACLMergeSelectorArguments.
fn merge_selectors(rules: &[Bytes]) -> Result<Vec<String>, SetUserError> {
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for r in rules {
        let r = String::from_utf8_lossy(r).into_owned();
        match open.as_mut() {
            Some(acc) => {
                acc.push(' ');
                acc.push_str(&r);
                if r.ends_with(')') {
                    out.push(open.take().unwrap_or_default());
                }
            }
            None if r.starts_with('(') && !r.ends_with(')') => open = Some(r),
            None => out.push(r),
        }
    }
    if let Some(acc) = open {
        return Err(SetUserError::Unmatched(acc));
    }
    Ok(out)
}

/// Applies `rules` to a copy of `user` (a new user when None) and returns it.
pub fn set_user(
    user: Option<&User>,
    name: &[u8],
    rules: &[Bytes],
    allchannels_default: bool,
) -> Result<User, SetUserError> {
    let mut u = match user {
        Some(u) => u.clone(),
        None => User::new(name, allchannels_default),
    };
    for op in merge_selectors(rules)? {
        apply_user(&mut u, &op, allchannels_default)
            .map_err(|msg| SetUserError::Rule(op.clone(), msg))?;
    }
    Ok(u)
}

fn parse_hash(h: &str) -> Result<[u8; 32], &'static str> {
    if h.len() != 64
        || !h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(BAD_HASH);
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).map_err(|_| BAD_HASH)?;
    }
    Ok(out)
}

fn apply_user(u: &mut User, op: &str, allchannels_default: bool) -> Result<(), &'static str> {
    let lower = op.to_ascii_lowercase();
    match lower.as_str() {
        "on" => u.enabled = true,
        "off" => u.enabled = false,
        "skip-sanitize-payload" => u.sanitize = Some(false),
        "sanitize-payload" => u.sanitize = Some(true),
        "nopass" => {
            u.nopass = true;
            u.passwords.clear();
        }
        "resetpass" => {
            u.nopass = false;
            u.passwords.clear();
        }
        "clearselectors" => u.selectors.clear(),
        "reset" => {
            u.nopass = false;
            u.passwords.clear();
            u.root = Selector::empty(allchannels_default);
            u.enabled = false;
            u.sanitize = Some(true);
            u.selectors.clear();
        }
        _ => {
            if let Some(p) = op.strip_prefix('>') {
                let h: [u8; 32] = Sha256::digest(p.as_bytes()).into();
                if !u.passwords.contains(&h) {
                    u.passwords.push(h);
                }
                u.nopass = false;
            } else if let Some(p) = op.strip_prefix('#') {
                let h = parse_hash(p)?;
                if !u.passwords.contains(&h) {
                    u.passwords.push(h);
                }
                u.nopass = false;
            } else if let Some(p) = op.strip_prefix('<') {
                let h: [u8; 32] = Sha256::digest(p.as_bytes()).into();
                let before = u.passwords.len();
                u.passwords.retain(|x| *x != h);
                if u.passwords.len() == before {
                    return Err(NO_SUCH_PASS);
                }
                u.nopass = false;
            } else if let Some(p) = op.strip_prefix('!') {
                let h = parse_hash(p)?;
                let before = u.passwords.len();
                u.passwords.retain(|x| *x != h);
                if u.passwords.len() == before {
                    return Err(NO_SUCH_PASS);
                }
                u.nopass = false;
            } else if op.starts_with('(') && op.ends_with(')') {
                let mut s = Selector::empty(allchannels_default);
                for r in op[1..op.len() - 1].split(' ').filter(|r| !r.is_empty()) {
                    apply_selector(&mut s, r)?;
                }
                u.selectors.push(s);
            } else {
                apply_selector(&mut u.root, op)?;
            }
        }
    }
    Ok(())
}

fn apply_selector(s: &mut Selector, op: &str) -> Result<(), &'static str> {
    if op.is_empty() {
        return Err(SYNTAX);
    }
    let lower = op.to_ascii_lowercase();
    match lower.as_str() {
        "allkeys" | "~*" => {
            s.allkeys = true;
            s.keys.clear();
        }
        "resetkeys" => {
            s.allkeys = false;
            s.keys.clear();
        }
        "allchannels" | "&*" => {
            s.allchannels = true;
            s.channels.clear();
        }
        "resetchannels" => {
            s.allchannels = false;
            s.channels.clear();
        }
        "allcommands" | "+@all" => s.set_all(true),
        "nocommands" | "-@all" => s.set_all(false),
        _ => {
            let b = op.as_bytes();
            if b[0] == b'~' || b[0] == b'%' {
                let (flags, pat) = if b[0] == b'~' {
                    (READ | WRITE, &op[1..])
                } else {
                    // `%` then each of R and W at most once, then `~` and a
                    // pattern (Redis's parser).
                    let mut f = 0;
                    let mut at = None;
                    for (i, c) in op.char_indices().skip(1) {
                        match c.to_ascii_uppercase() {
                            'R' if f & READ == 0 => f |= READ,
                            'W' if f & WRITE == 0 => f |= WRITE,
                            '~' => {
                                at = Some(i + 1);
                                break;
                            }
                            _ => return Err(SYNTAX),
                        }
                    }
                    match at {
                        Some(i) if f != 0 && i < op.len() => (f, &op[i..]),
                        _ => return Err(SYNTAX),
                    }
                };
                if s.allkeys {
                    return Err(KEYS_AFTER_ALL);
                }
                let pat = Bytes::copy_from_slice(pat.as_bytes());
                match s.keys.iter_mut().find(|(_, p)| *p == pat) {
                    Some((f, _)) => *f |= flags,
                    None => s.keys.push((flags, pat)),
                }
            } else if let Some(p) = op.strip_prefix('&') {
                if s.allchannels {
                    return Err(CHANNELS_AFTER_ALL);
                }
                let p = Bytes::copy_from_slice(p.as_bytes());
                if !s.channels.contains(&p) {
                    s.channels.push(p);
                }
            } else if let Some(cat) = lower
                .strip_prefix("+@")
                .or_else(|| lower.strip_prefix("-@"))
            {
                let tag = format!("@{cat}");
                if !crate::cmd_acl::CATEGORIES.contains(&cat) {
                    return Err(UNKNOWN);
                }
                s.set_category(&tag, b[0] == b'+');
            } else if b[0] == b'+' || b[0] == b'-' {
                command_rule(s, &lower[1..], b[0] == b'+')?;
            } else {
                return Err(SYNTAX);
            }
        }
    }
    Ok(())
}

/// Redis's ACLLookupCommand: `cmd` or `container|sub`.
fn lookup(name: &str) -> Option<&'static tandem_commands::CommandSpec> {
    let mut parts = name.split('|');
    let base = tandem_commands::lookup(parts.next()?.as_bytes())?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => base.subcommand(sub.as_bytes()),
        _ => None,
    }
}

/// `+cmd`, `-cmd`, `+container|sub`, and the deprecated `+cmd|first-arg`,
/// with Redis's errors for each malformed form.
fn command_rule(s: &mut Selector, rule: &str, allow: bool) -> Result<(), &'static str> {
    if !allow || !rule.contains('|') {
        let spec = lookup(rule).ok_or(UNKNOWN)?;
        s.set_command(spec, allow);
        return Ok(());
    }
    let cut = rule.rfind('|').unwrap_or(rule.len());
    let (base, first) = (&rule[..cut], &rule[cut + 1..]);
    let spec = lookup(base).ok_or(UNKNOWN)?;
    if base.contains('|') {
        return Err(FIRST_ARG_OF_SUB);
    }
    if first.is_empty() {
        return Err(SYNTAX);
    }
    if !spec.subcommands.is_empty() {
        let sub = lookup(rule).ok_or(UNKNOWN)?;
        s.set_command(sub, true);
        return Ok(());
    }
    let l = s.first_args.entry(spec.id).or_default();
    let a = Bytes::copy_from_slice(first.as_bytes());
    if !l.contains(&a) {
        l.push(a);
    }
    Ok(())
}
