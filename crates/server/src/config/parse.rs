//! redis.conf syntax: line splitting with quotes (as Redis's `sdssplitargs`), memory
//! units, `include`, and the `tandem server [file] [--name value ...]` command line.

use std::path::Path;

use super::{Config, ConfigError};

/// Parses a memory value as Redis's `memtoull`: digits and an optional unit
/// (b, k = 1000, kb = 1024, m, mb, g, gb; case-insensitive). Negative is refused.
pub fn memtoull(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if num.is_empty() || num.starts_with('-') {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments like Redis's `sdssplitargs`: whitespace separates,
/// "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' take
/// \'. A closing quote must be followed by a space or the end.
pub fn split_args(line: &str) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let unbalanced = || "Unbalanced quotes in configuration line".to_string();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let mut cur: Vec<u8> = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= b.len() {
                    return Err(unbalanced());
                }
                if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex(b[i + 2]), hex(b[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if b[i] == b'\\' && i + 1 < b.len() {
                    cur.push(match b[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                    i += 2;
                    continue;
                }
                if b[i] == b'"' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return Err(unbalanced());
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else if insq {
                if i >= b.len() {
                    return Err(unbalanced());
                }
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                }
                if b[i] == b'\'' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return Err(unbalanced());
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else {
                if i >= b.len() || b[i].is_ascii_whitespace() {
                    break;
                }
                match b[i] {
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
}

/// One directive with where it came from, for error messages.
struct Directive {
    line: usize,
    text: String,
    args: Vec<String>,
}

fn read_file(path: &Path, depth: usize, out: &mut Vec<Directive>) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fatal = |reason: String| ConfigError::Fatal {
            line: n + 1,
            text: line.to_string(),
            reason,
        };
        let args = split_args(line).map_err(fatal)?;
        if args.is_empty() {
            continue;
        }
        if args[0].eq_ignore_ascii_case("include") {
            if args.len() != 2 || depth > 8 {
                return Err(fatal("Bad directive or wrong number of arguments".into()));
            }
            read_file(Path::new(&args[1]), depth + 1, out)?;
            continue;
        }
        out.push(Directive {
            line: n + 1,
            text: line.to_string(),
            args,
        });
    }
    Ok(())
}

impl Config {
    /// Builds the configuration from `tandem server`'s arguments, like
    /// `redis-server [file] [--name value ...]`: an optional first argument that is
    /// not an option names a config file, then each `--name` starts a directive whose
    /// values are the arguments up to the next `--name`. Command-line directives
    /// apply after the file's.
    pub fn from_args(argv: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut directives = Vec::new();
        let mut rest = argv;
        if let Some(first) = argv.first() {
            if !first.starts_with("--") {
                let path = Path::new(first);
                read_file(path, 0, &mut directives)?;
                cfg.config_file = Some(std::fs::canonicalize(path).unwrap_or(path.into()));
                rest = &argv[1..];
            }
        }
        let cli_start = directives.len();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                directives.push(Directive {
                    line: 0,
                    text: String::new(),
                    args: vec![name.to_string()],
                });
            } else if let Some(d) = directives[cli_start..].last_mut() {
                d.args.push(a.clone());
            } else {
                return Err(ConfigError::Fatal {
                    line: 1,
                    text: a.clone(),
                    reason: "Bad directive or wrong number of arguments".into(),
                });
            }
        }
        // Command-line directives are numbered after the file, as Redis appends
        // them to the file's text.
        for (k, d) in directives[cli_start..].iter_mut().enumerate() {
            d.line = k + 1;
            d.text = d
                .args
                .iter()
                .map(|a| {
                    if a.is_empty() {
                        "\"\"".to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        let mut first_save = true;
        for d in &directives {
            if d.args[0].eq_ignore_ascii_case("rename-command") {
                // As Redis: checked against the commands there are (and the
                // names already taken by earlier renames).
                let fatal = |reason: &str| ConfigError::Fatal {
                    line: d.line,
                    text: d.text.clone(),
                    reason: reason.to_string(),
                };
                let [_, old, new] = &d.args[..] else {
                    return Err(fatal("wrong number of arguments"));
                };
                let renamed_away =
                    |n: &str| cfg.renames.iter().any(|(o, _)| o.eq_ignore_ascii_case(n));
                let renamed_to =
                    |n: &str| cfg.renames.iter().any(|(_, t)| t.eq_ignore_ascii_case(n));
                let exists = |n: &str| {
                    (tandem_commands::lookup(n.as_bytes()).is_some() && !renamed_away(n))
                        || renamed_to(n)
                };
                if !exists(old) {
                    return Err(fatal("No such command in rename-command"));
                }
                if !new.is_empty() && exists(new) {
                    return Err(fatal("Target command name already exists"));
                }
                cfg.renames
                    .push((old.to_ascii_lowercase(), new.to_ascii_lowercase()));
                continue;
            }
            if d.args[0].eq_ignore_ascii_case("user") {
                // An ACL user, as Redis's `user` directive: checked now,
                // created when the server starts.
                let fatal = |reason: String| ConfigError::Fatal {
                    line: d.line,
                    text: d.text.clone(),
                    reason,
                };
                let Some(name) = d.args.get(1) else {
                    return Err(fatal("Bad directive or wrong number of arguments".into()));
                };
                if cfg.users.iter().any(|u| u[0] == *name) {
                    return Err(fatal(format!("Error in user declaration '{name}': Duplicate user found. A user can only be defined once in config files")));
                }
                let rules: Vec<bytes::Bytes> = d.args[2..]
                    .iter()
                    .map(|a| bytes::Bytes::from(a.clone()))
                    .collect();
                if let Err(e) = crate::acl::set_user(None, name.as_bytes(), &rules, false) {
                    return Err(fatal(format!(
                        "Error in user declaration '{name}': {}",
                        e.text()
                    )));
                }
                cfg.users.push(d.args[1..].to_vec());
                continue;
            }
            cfg.apply(&d.args[0], &d.args[1..], &mut first_save)
                .map_err(|reason| ConfigError::Fatal {
                    line: d.line,
                    text: d.text.clone(),
                    reason,
                })?;
        }
        let aclfile = cfg.str("aclfile").to_string();
        if !aclfile.is_empty() {
            if !cfg.users.is_empty() {
                return Err(ConfigError::Invalid("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into()));
            }
            if let Err(e) = crate::acl::file::load(&aclfile, &crate::acl::Acl::default()) {
                return Err(ConfigError::Invalid(format!(
                    "Aborting Redis startup because of ACL errors: {e}"
                )));
            }
        }
        // CONFIG GET dir shows an absolute path, as Redis (which chdirs there) does.
        if let super::Val::Str(d) = cfg.get("dir").clone() {
            if let Ok(abs) = std::fs::canonicalize(&d) {
                let mut first = true;
                cfg.apply("dir", &[abs.display().to_string()], &mut first)
                    .map_err(ConfigError::Invalid)?;
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }
}
