//! Server configuration: one table of settings ([`table::SETTINGS`]) feeds the
//! redis.conf parser, the `--name value` command line, CONFIG GET/SET and the
//! effective values the server and the store read.
//!
//! ```text
//!  tandem.conf ─┐                       ┌─> CONFIG GET (glob over names)
//!  --name v ────┼─> Config::apply ──> vals[i] ──> StoreConfig / server limits
//!  CONFIG SET ──┘   (parse + range)     └─> validate() across settings
//! ```

mod parse;
pub mod rewrite;
pub mod table;

use std::path::PathBuf;

use tandem_store::keyspace::EvictionPolicy;
use tandem_store::StoreConfig;

pub use parse::{memtoull, split_args};

/// What values a setting takes; decides parsing and formatting.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    /// Integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// Integer written in octal (`unixsocketperm`), in `0..=max`.
    Octal {
        max: i64,
    },
    /// Memory value with units (1k = 1000, 1kb = 1024, ...), printed in bytes.
    Mem {
        min: i64,
        max: i64,
    },
    /// One of the listed words (case-insensitive, stored in lower case).
    Enum(&'static [&'static str]),
    /// Any single string.
    Str,
    /// A list of words (`bind`).
    Words,
    /// `save <seconds> <changes> ...` pairs, or `""` for none.
    Save,
    /// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`.
    OutputLimits,
    /// `replicaof <host> <port>` or `no one`.
    Replicaof,
}

/// One setting, declared once.
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The default, written as in redis.conf (parsed by the same parser).
    pub default: &'static str,
    /// Whether CONFIG SET may change it.
    pub mutable: bool,
    pub kind: Kind,
}

/// Output buffer limits of one client class (bytes; seconds for the soft limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Client classes for output buffer limits, in Redis's order.
pub const CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// A setting's current value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Bool(bool),
    Int(i64),
    Str(String),
    Words(Vec<String>),
    Save(Vec<(i64, i64)>),
    Limits([ClassLimit; 3]),
    Replicaof(Option<(String, u16)>),
}

/// A configuration error, worded as Redis's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A line of the config file or command line could not be applied.
    #[error("\n*** FATAL CONFIG FILE ERROR (Tandem {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}", version = env!("CARGO_PKG_VERSION"))]
    Fatal {
        line: usize,
        text: String,
        reason: String,
    },
    /// The configuration file could not be read.
    #[error("Fatal error, can't open config file '{path}': {reason}")]
    Open { path: String, reason: String },
    /// The settings are individually valid but not together.
    #[error("Invalid configuration: {0}")]
    Invalid(String),
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    vals: Vec<Val>,
    /// `user <name> <rules...>` directives (ACL users), in order.
    pub users: Vec<Vec<String>>,
    /// `rename-command old new` directives, in order (`new` empty: disabled).
    pub renames: Vec<(String, String)>,
    /// The file the configuration was loaded from, if any (INFO `config_file`).
    pub config_file: Option<PathBuf>,
    /// Install SIGTERM/SIGINT handlers (the binary does; in-process tests don't).
    pub handle_signals: bool,
}

impl Default for Config {
    fn default() -> Self {
        let vals = table::SETTINGS
            .iter()
            .map(|s| {
                let args = if matches!(s.kind, Kind::Str | Kind::Enum(_) | Kind::Bool) {
                    vec![s.default.to_string()]
                } else {
                    split_args(s.default).unwrap_or_default()
                };
                let empty = empty_val(s.kind);
                // The defaults are ours and covered by a unit test; a bad one
                // would show up as the kind's empty value.
                parse_val(s, &args, &empty).unwrap_or(empty)
            })
            .collect();
        Config {
            users: Vec::new(),
            renames: Vec::new(),
            vals,
            config_file: None,
            handle_signals: false,
        }
    }
}

fn empty_val(kind: Kind) -> Val {
    match kind {
        Kind::Bool => Val::Bool(false),
        Kind::Int { .. } | Kind::Mem { .. } | Kind::Octal { .. } => Val::Int(0),
        Kind::Enum(_) | Kind::Str => Val::Str(String::new()),
        Kind::Words => Val::Words(Vec::new()),
        Kind::Save => Val::Save(Vec::new()),
        Kind::OutputLimits => Val::Limits([ClassLimit::default(); 3]),
        Kind::Replicaof => Val::Replicaof(None),
    }
}

/// Finds a setting by name or alias (case-insensitive).
pub fn find(name: &str) -> Option<(usize, &'static Setting)> {
    table::SETTINGS.iter().enumerate().find(|(_, s)| {
        s.name.eq_ignore_ascii_case(name) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn parse_int(s: &str) -> Option<i64> {
    tandem_store::util::parse_i64(s.as_bytes())
}

fn range_err(min: i64, max: i64) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

/// Parses `args` for setting `s`; `cur` is the current value (client output
/// limits change only the classes named). The error is Redis's reason text.
pub fn parse_val(s: &Setting, args: &[String], cur: &Val) -> Result<Val, String> {
    // Redis's MULTI_ARG_CONFIG: one non-empty argument is split at spaces, so
    // `--save "3600 1"` and `save "3600 1"` work as `save 3600 1` does.
    let split: Vec<String>;
    let args = match (s.kind, args) {
        (Kind::Save | Kind::Words | Kind::OutputLimits, [one]) if !one.is_empty() => {
            split = one.split_whitespace().map(str::to_string).collect();
            &split[..]
        }
        _ => args,
    };
    let one = || -> Result<&str, String> {
        match args {
            [a] => Ok(a.as_str()),
            _ => Err("wrong number of arguments".to_string()),
        }
    };
    match s.kind {
        Kind::Bool => match one()?.to_ascii_lowercase().as_str() {
            "yes" => Ok(Val::Bool(true)),
            "no" => Ok(Val::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let n = parse_int(one()?).ok_or("argument couldn't be parsed into an integer")?;
            if s.name == "hz" {
                // Redis clamps hz into 1..=500 instead of refusing it.
                return Ok(Val::Int(n.clamp(1, 500)));
            }
            if n < min || n > max {
                return Err(range_err(min, max));
            }
            Ok(Val::Int(n))
        }
        Kind::Octal { max } => {
            let n = i64::from_str_radix(one()?, 8)
                .map_err(|_| "argument couldn't be parsed into an integer")?;
            if !(0..=max).contains(&n) {
                return Err(format!("argument must be between 0 and {max:o} inclusive"));
            }
            Ok(Val::Int(n))
        }
        Kind::Mem { min, max } => {
            let n = memtoull(one()?).ok_or("argument must be a memory value")?;
            let n = i64::try_from(n).map_err(|_| "argument must be a memory value")?;
            if n < min || n > max {
                return Err(range_err(min, max));
            }
            Ok(Val::Int(n))
        }
        Kind::Enum(words) => {
            let a = one()?.to_ascii_lowercase();
            if words.contains(&a.as_str()) {
                Ok(Val::Str(a))
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                ))
            }
        }
        Kind::Str if s.name == "notify-keyspace-events" => {
            // Kept as given (with `A`, Redis's display drops `n`, which
            // still counts); shown in Redis's form by `format`.
            let v = one()?;
            match tandem_store::notify::parse_flags(v.as_bytes()) {
                Some(_) => Ok(Val::Str(v.to_string())),
                None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
            }
        }
        // Lists Redis takes as one quoted argument (CONFIG SET) or as
        // several (a config file line, as CONFIG REWRITE writes them).
        Kind::Str
            if matches!(
                s.name,
                "oom-score-adj-values" | "latency-tracking-info-percentiles"
            ) =>
        {
            Ok(Val::Str(args.join(" ")))
        }
        Kind::Str => Ok(Val::Str(one()?.to_string())),
        Kind::Words => Ok(Val::Words(
            args.iter().filter(|a| !a.is_empty()).cloned().collect(),
        )),
        Kind::Save => {
            let args: Vec<&String> = args.iter().filter(|a| !a.is_empty()).collect();
            if !args.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            let mut pairs = Vec::new();
            for p in args.chunks(2) {
                match (parse_int(p[0]), parse_int(p[1])) {
                    (Some(a), Some(b)) if a >= 1 && b >= 0 => pairs.push((a, b)),
                    _ => return Err("Invalid save parameters".into()),
                }
            }
            Ok(Val::Save(pairs))
        }
        Kind::OutputLimits => {
            let mut lim = match cur {
                Val::Limits(l) => *l,
                _ => [ClassLimit::default(); 3],
            };
            if args.is_empty() || !args.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            for c in args.chunks(4) {
                let class = match c[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        )
                    }
                };
                match (memtoull(&c[1]), memtoull(&c[2]), parse_int(&c[3])) {
                    (Some(hard), Some(soft), Some(secs)) if secs >= 0 => {
                        lim[class] = ClassLimit {
                            hard,
                            soft,
                            soft_seconds: secs as u64,
                        }
                    }
                    _ => {
                        return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into())
                    }
                }
            }
            Ok(Val::Limits(lim))
        }
        Kind::Replicaof => match args {
            [] => Ok(Val::Replicaof(None)),
            [a] if a.is_empty() => Ok(Val::Replicaof(None)),
            [a, b] if a.eq_ignore_ascii_case("no") && b.eq_ignore_ascii_case("one") => {
                Ok(Val::Replicaof(None))
            }
            [host, port] => match port.parse::<u16>() {
                Ok(p) => Ok(Val::Replicaof(Some((host.clone(), p)))),
                Err(_) => Err("Invalid master port".into()),
            },
            _ => Err("wrong number of arguments".into()),
        },
    }
}

/// Formats a value as CONFIG GET prints it.
pub fn format_val(v: &Val) -> String {
    match v {
        Val::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Val::Int(n) => n.to_string(),
        Val::Str(s) => s.clone(),
        Val::Words(w) => w.join(" "),
        Val::Save(p) => p
            .iter()
            .map(|(a, b)| format!("{a} {b}"))
            .collect::<Vec<_>>()
            .join(" "),
        Val::Limits(l) => CLASSES
            .iter()
            .zip(l.iter())
            .map(|(c, l)| format!("{c} {} {} {}", l.hard, l.soft, l.soft_seconds))
            .collect::<Vec<_>>()
            .join(" "),
        Val::Replicaof(r) => match r {
            Some((h, p)) => format!("{h} {p}"),
            None => String::new(),
        },
    }
}

impl Config {
    /// The value of a setting by canonical name. Panics only on a name that is not
    /// in the table, which is a programming error caught by the unit tests.
    pub fn get(&self, name: &str) -> &Val {
        match find(name) {
            Some((i, _)) => &self.vals[i],
            None => panic!("unknown setting {name}"),
        }
    }
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Val::Int(n) => *n,
            _ => 0,
        }
    }
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Val::Bool(true))
    }
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Val::Str(s) => s,
            _ => "",
        }
    }
    pub fn words(&self, name: &str) -> &[String] {
        match self.get(name) {
            Val::Words(w) => w,
            _ => &[],
        }
    }
    pub fn output_limits(&self) -> [ClassLimit; 3] {
        match self.get("client-output-buffer-limit") {
            Val::Limits(l) => *l,
            _ => [ClassLimit::default(); 3],
        }
    }
    /// CONFIG GET's text for a setting.
    pub fn format(&self, idx: usize) -> String {
        match (table::SETTINGS[idx].kind, &self.vals[idx]) {
            (Kind::Octal { .. }, Val::Int(n)) => format!("{n:o}"),
            (_, Val::Str(v)) if table::SETTINGS[idx].name == "notify-keyspace-events" => {
                let f = tandem_store::notify::parse_flags(v.as_bytes()).unwrap_or(0);
                tandem_store::notify::flags_to_string(f)
            }
            (_, v) => format_val(v),
        }
    }

    /// Sets `name` from a directive's arguments (file or command line).
    /// `first_save` tracks Redis's rule that the first `save` line of a load
    /// replaces the default and later ones append.
    pub fn apply(
        &mut self,
        name: &str,
        args: &[String],
        first_save: &mut bool,
    ) -> Result<(), String> {
        let (i, s) = find(name).ok_or("Bad directive or wrong number of arguments")?;
        let mut v = parse_val(s, args, &self.vals[i])?;
        if let (Kind::Save, Val::Save(new), Val::Save(old)) = (s.kind, &mut v, &self.vals[i]) {
            if !*first_save {
                let mut all = old.clone();
                all.append(new);
                *new = all;
            }
            *first_save = false;
        }
        self.vals[i] = v;
        Ok(())
    }

    /// Whether a client may do what `enable-debug-command`,
    /// `enable-protected-configs` or `enable-module-command` (`setting`)
    /// guards: `yes`, or `local` from a loopback or Unix-socket connection
    /// (`addr` as CLIENT LIST shows it).
    pub fn allows(&self, setting: &str, addr: &str) -> bool {
        match self.str(setting) {
            "yes" => true,
            "local" => is_local(addr),
            _ => false,
        }
    }

    /// CONFIG SET of several name/value pairs, all or nothing, as Redis 7.0.
    /// The error is the whole reply line (without '-').
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<Vec<&'static str>, String> {
        self.set_many_as(pairs, true)
    }

    /// [`Config::set_many`] for a client, which may change the protected
    /// parameters (`dir`, `dbfilename`: where snapshots are written) only if
    /// `enable-protected-configs` allows it (`allow_protected`).
    pub fn set_many_as(
        &mut self,
        pairs: &[(String, String)],
        allow_protected: bool,
    ) -> Result<Vec<&'static str>, String> {
        let mut next = self.clone();
        let mut seen: Vec<usize> = Vec::new();
        let mut changed = Vec::new();
        for (name, value) in pairs {
            let Some((i, s)) = find(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let fail = |why: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            if seen.contains(&i) {
                return Err(fail("duplicate parameter"));
            }
            seen.push(i);
            if !s.mutable {
                return Err(fail("can't set immutable config"));
            }
            if !allow_protected && PROTECTED.contains(&s.name) {
                return Err(fail("can't set protected config"));
            }
            let args = match s.kind {
                Kind::Words | Kind::Save | Kind::OutputLimits | Kind::Replicaof => {
                    split_args(value).map_err(|e| fail(&e))?
                }
                _ => vec![value.clone()],
            };
            next.vals[i] = parse_val(s, &args, &next.vals[i]).map_err(|e| fail(&e))?;
            changed.push(s.name);
        }
        next.validate()
            .map_err(|e| format!("ERR CONFIG SET failed - {e}"))?;
        *self = next;
        Ok(changed)
    }

    /// CONFIG GET: (name, value) pairs of settings matching any pattern.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (i, s) in table::SETTINGS.iter().enumerate() {
            let names = std::iter::once(s.name).chain(s.aliases.iter().copied());
            // Aliases match patterns too (Redis 7.0.15: `CONFIG GET slave*`).
            for name in names {
                let hidden = table::HIDDEN.contains(&name);
                let hit = patterns.iter().any(|p| {
                    if hidden {
                        p.eq_ignore_ascii_case(name.as_bytes())
                    } else {
                        tandem_store::util::glob_match(p, name.as_bytes(), true)
                    }
                });
                if hit {
                    out.push((name, self.format(i)));
                }
            }
        }
        out
    }

    /// Checks rules across settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bool("daemonize") {
            return Err(ConfigError::Invalid(
                "'daemonize yes' is not supported: run tandem in the foreground under a supervisor (systemd, a container runtime)".into(),
            ));
        }
        if self.int("tls-port") != 0 || self.bool("tls-replication") || self.bool("tls-cluster") {
            return Err(ConfigError::Invalid(
                "TLS is not supported (tls-port, tls-replication, tls-cluster): terminate TLS in front of Tandem".into(),
            ));
        }
        if self.bool("cluster-enabled") {
            return Err(ConfigError::Invalid(
                "'cluster-enabled yes' is not supported: Tandem is a standalone store".into(),
            ));
        }
        if self.words("bind").is_empty() {
            return Err(ConfigError::Invalid(
                "'bind' needs at least one address".into(),
            ));
        }
        Ok(())
    }

    /// The data-plane settings, for the store.
    pub fn store_config(&self) -> StoreConfig {
        let u = |n: &str| self.int(n).max(0) as usize;
        StoreConfig {
            databases: u("databases"),
            maxmemory: self.int("maxmemory").max(0) as u64,
            maxmemory_policy: EvictionPolicy::parse(self.str("maxmemory-policy"))
                .unwrap_or(EvictionPolicy::NoEviction),
            maxmemory_samples: u("maxmemory-samples"),
            lfu_log_factor: u("lfu-log-factor") as u32,
            lfu_decay_time: u("lfu-decay-time") as u32,
            hash_max_listpack_entries: u("hash-max-listpack-entries"),
            hash_max_listpack_value: u("hash-max-listpack-value"),
            set_max_intset_entries: u("set-max-intset-entries"),
            zset_max_listpack_entries: u("zset-max-listpack-entries"),
            zset_max_listpack_value: u("zset-max-listpack-value"),
            list_max_listpack_size: self.int("list-max-listpack-size"),
            stream_node_max_entries: self.int("stream-node-max-entries"),
            stream_node_max_bytes: self.int("stream-node-max-bytes").max(0) as u64,
            active_expire_enabled: true,
            is_replica: matches!(self.get("replicaof"), Val::Replicaof(Some(_))),
            lazyfree_lazy_user_del: self.bool("lazyfree-lazy-user-del"),
            lazyfree_lazy_user_flush: self.bool("lazyfree-lazy-user-flush"),
            proto_max_bulk_len: self.int("proto-max-bulk-len").max(0) as u64,
        }
    }
}

#[cfg(test)]
mod tests;

/// Parameters a client may set only when `enable-protected-configs` allows it
/// (Redis 7.0's PROTECTED_CONFIG: they choose where files are written).
const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// A loopback or Unix-socket peer (`ip:port`, `[ip]:port` or `path:0`).
fn is_local(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => is_loopback(ip),
        // Not an IP address: a Unix socket path.
        Err(_) => true,
    }
}

/// A loopback address (an IPv4 loopback address mapped into IPv6 included).
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    }
}
