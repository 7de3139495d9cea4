//! Redis 7 functions: libraries loaded with FUNCTION LOAD (Lua code with a
//! `#!lua name=<library>` first line that calls `redis.register_function`),
//! their functions called with FCALL and FCALL_RO.
//!
//! They run in an interpreter of their own ([`Functions`] owns an [`Engine`]),
//! so SCRIPT FLUSH and FUNCTION FLUSH each reset only their side, as in Redis.
//! The sandbox is the scripts' one (see INIT in `mod.rs`): one read-only
//! globals table for every library, resolving to the load API while a
//! library's code loads and to the scripts' globals (without KEYS and ARGV)
//! when a callback runs.
//!
//! Libraries live as long as the node's data: they travel in the write stream
//! (FUNCTION LOAD/DELETE/FLUSH/RESTORE as called) and in snapshots (the
//! `FUNCTION2` opcode, as Redis 7.0 writes them), so replicas, restarts and
//! the AOF keep them.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use mlua::{Function, Table, Value};

use super::{Engine, FLAG_NAMES};

/// A registered function.
pub struct Registered {
    /// As registered (FCALL finds it whatever the case).
    pub name: String,
    pub library: String,
    pub callback: Function,
    /// [`super::flag`] bits, [`super::flag::SHEBANG`] included: a function's
    /// flags are always checked, as a script's with a shebang.
    pub flags: u8,
    pub description: Option<String>,
}

/// A loaded library.
pub struct Library {
    pub code: Bytes,
    /// In registration order. Names are case-sensitive within a library;
    /// FCALL's lookup is not, and finds the last one registered.
    pub functions: Vec<Registered>,
}

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Drop them first.
    Flush,
    /// Keep them; a library or function of the payload that exists is an error.
    Append,
    /// A library of the payload replaces the one of the same name.
    Replace,
}

/// The function libraries and the interpreter they run in.
pub struct Functions {
    pub(crate) engine: Engine,
    /// By name (case-sensitive, as Redis's).
    libraries: BTreeMap<String, Library>,
    /// Lowercase function name to its library and index there.
    functions: HashMap<String, (String, usize), foldhash::fast::RandomState>,
    code_bytes: usize,
}

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses a library's first line (`#!<engine> name=<name>`, split as Redis's
/// `sdssplitargs`): the library's name, and where the code after that line
/// starts (its newline, so line numbers stay those of the whole text).
pub fn metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let parts = tandem_resp::inline::split_inline(&code[..end])
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "ERR Invalid library metadata".to_string())?;
    let engine = parts[0].get(2..).unwrap_or_default();
    let mut name: Option<&[u8]> = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(&p[5..]);
            continue;
        }
        return Err(format!(
            "ERR Invalid metadata value given: {}",
            String::from_utf8_lossy(p)
        ));
    }
    let name = name.ok_or_else(|| "ERR Library name was not given".to_string())?;
    if !valid_name(name) {
        return Err(BAD_NAME.into());
    }
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    // Checked ASCII above.
    Ok((String::from_utf8_lossy(name).into_owned(), end))
}

/// The `err` field of an error table from the load run.
fn error_message(v: &Value) -> String {
    match v {
        Value::Table(t) => t
            .raw_get::<mlua::LuaString>("err")
            .map(|s| s.to_string_lossy())
            .unwrap_or_else(|_| "ERR execution failure".into()),
        _ => "ERR execution failure".into(),
    }
}

fn flags_of(names: &Table) -> u8 {
    let mut flags = super::flag::SHEBANG;
    for n in names.sequence_values::<String>().flatten() {
        if let Some((_, bit)) = FLAG_NAMES.iter().find(|(f, _)| *f == n) {
            flags |= bit;
        }
    }
    flags
}

impl Functions {
    pub fn new() -> mlua::Result<Functions> {
        Ok(Functions {
            engine: Engine::new()?,
            libraries: BTreeMap::new(),
            functions: HashMap::default(),
            code_bytes: 0,
        })
    }

    /// Compiles a library's code and runs it: the functions it registers (not
    /// installed yet), or Redis's error.
    fn compile(&self, library: &str, code: &[u8], skip: usize) -> Result<Vec<Registered>, String> {
        let chunk = self.engine.compile(
            &code[skip..],
            "@user_function",
            &self.engine.fenv,
            "ERR Error compiling function",
        )?;
        self.engine.watch_load(true);
        let r = self.engine.fload.call::<(bool, Value, Table)>(chunk);
        self.engine.watch_load(false);
        let (ok, err, registered) =
            r.map_err(|e| format!("ERR Error registering functions: ERR {e}"))?;
        if !ok {
            return Err(format!(
                "ERR Error registering functions: {}",
                error_message(&err)
            ));
        }
        let mut out = Vec::new();
        for entry in registered.sequence_values::<Table>() {
            let entry = entry.map_err(|e| format!("ERR Error registering functions: ERR {e}"))?;
            let read = || -> mlua::Result<Registered> {
                Ok(Registered {
                    name: entry.raw_get(1)?,
                    library: library.to_string(),
                    callback: entry.raw_get(2)?,
                    flags: flags_of(&entry.raw_get(3)?),
                    description: entry.raw_get(4)?,
                })
            };
            out.push(read().map_err(|e| format!("ERR Error registering functions: ERR {e}"))?);
        }
        Ok(out)
    }

    /// The library a function name (any case) belongs to.
    fn owner(&self, name: &str) -> Option<&str> {
        self.functions
            .get(&name.to_ascii_lowercase())
            .map(|(lib, _)| lib.as_str())
    }

    /// A function registered under another library than `library`.
    fn taken_elsewhere<'a>(&self, regs: &'a [Registered], library: &str) -> Option<&'a str> {
        regs.iter()
            .find(|r| self.owner(&r.name).is_some_and(|l| l != library))
            .map(|r| r.name.as_str())
    }

    fn unlink(&mut self, library: &str) {
        if let Some(lib) = self.libraries.remove(library) {
            self.code_bytes -= lib.code.len();
            for f in &lib.functions {
                self.functions.remove(&f.name.to_ascii_lowercase());
            }
        }
    }

    fn link(&mut self, library: String, code: Bytes, regs: Vec<Registered>) {
        for (i, r) in regs.iter().enumerate() {
            self.functions
                .insert(r.name.to_ascii_lowercase(), (library.clone(), i));
        }
        self.code_bytes += code.len();
        self.libraries.insert(
            library,
            Library {
                code,
                functions: regs,
            },
        );
    }

    /// FUNCTION LOAD: the library's name, or Redis's error (nothing changes).
    pub fn load(&mut self, code: Bytes, replace: bool) -> Result<String, String> {
        let (name, skip) = metadata(&code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let regs = self.compile(&name, &code, skip)?;
        if regs.is_empty() {
            return Err("ERR No functions registered".into());
        }
        if let Some(f) = self.taken_elsewhere(&regs, &name) {
            return Err(format!("ERR Function {f} already exists"));
        }
        self.unlink(&name);
        self.link(name.clone(), code, regs);
        Ok(name)
    }

    /// FUNCTION RESTORE's libraries, under `policy`; all or nothing.
    pub fn restore(&mut self, codes: Vec<Vec<u8>>, policy: RestorePolicy) -> Result<(), String> {
        let mut incoming: Vec<(String, Bytes, Vec<Registered>)> = Vec::new();
        for code in codes {
            let code = Bytes::from(code);
            let (name, skip) = metadata(&code)?;
            if incoming.iter().any(|(n, ..)| *n == name) {
                return Err(format!("ERR Library '{name}' already exists"));
            }
            let regs = self.compile(&name, &code, skip)?;
            if regs.is_empty() {
                return Err("ERR No functions registered".into());
            }
            for r in &regs {
                let dup = incoming
                    .iter()
                    .flat_map(|(_, _, rs)| rs)
                    .any(|o| o.name.eq_ignore_ascii_case(&r.name));
                if dup {
                    return Err(format!("ERR Function {} already exists", r.name));
                }
            }
            incoming.push((name, code, regs));
        }
        if policy == RestorePolicy::Flush {
            self.functions.clear();
            self.libraries.clear();
            self.code_bytes = 0;
        } else {
            // REPLACE: a library of the payload takes its namesake's place
            // (and may reuse its function names); APPEND: no namesakes.
            let replace = policy == RestorePolicy::Replace;
            let replaced = |lib: &str| replace && incoming.iter().any(|(n, ..)| n == lib);
            for (name, _, regs) in &incoming {
                if !replace && self.libraries.contains_key(name) {
                    return Err(format!("ERR Library {name} already exists"));
                }
                for r in regs {
                    if self.owner(&r.name).is_some_and(|l| !replaced(l)) {
                        return Err(format!("ERR Function {} already exists", r.name));
                    }
                }
            }
        }
        for (name, code, regs) in incoming {
            self.unlink(&name);
            self.link(name, code, regs);
        }
        Ok(())
    }

    /// FUNCTION DELETE: whether the library existed.
    pub fn delete(&mut self, library: &[u8]) -> bool {
        let Ok(name) = std::str::from_utf8(library) else {
            return false;
        };
        let found = self.libraries.contains_key(name);
        self.unlink(name);
        found
    }

    /// The function FCALL names (case-insensitive).
    pub fn get(&self, name: &[u8]) -> Option<&Registered> {
        // Lowercased on the stack when short (names are usually a few
        // dozen bytes).
        let mut buf = [0u8; 64];
        let owned;
        let key: &[u8] = match buf.get_mut(..name.len()) {
            Some(k) => {
                k.copy_from_slice(name);
                k.make_ascii_lowercase();
                k
            }
            None => {
                owned = name.to_ascii_lowercase();
                &owned
            }
        };
        let (lib, i) = self.functions.get(std::str::from_utf8(key).ok()?)?;
        self.libraries.get(lib)?.functions.get(*i)
    }

    pub fn libraries(&self) -> impl Iterator<Item = (&String, &Library)> {
        self.libraries.iter()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// Bytes of the libraries' code plus a per-function overhead (Redis's
    /// `used_memory_functions` counts its dictionaries and the code).
    pub fn bytes(&self) -> usize {
        self.code_bytes + self.functions.len() * 200 + self.libraries.len() * 200
    }

    /// The libraries' code, for snapshots and FUNCTION DUMP.
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.to_vec()).collect()
    }
}

/// The node's libraries, started on first use.
pub fn take(st: &mut crate::state::State) -> mlua::Result<Box<Functions>> {
    match st.functions.take() {
        Some(f) => Ok(f),
        None => Functions::new().map(Box::new),
    }
}

/// The libraries' code (for snapshots).
pub fn codes(st: &crate::state::State) -> Vec<Vec<u8>> {
    st.functions.as_ref().map(|f| f.codes()).unwrap_or_default()
}

/// Replaces the node's libraries with a snapshot's (a restart, a full sync,
/// an AOF base). A library that does not load is logged and skipped.
pub fn load_all(st: &mut crate::state::State, codes: &[Vec<u8>]) {
    st.functions = None;
    if codes.is_empty() {
        return;
    }
    let mut f = match Functions::new() {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("cannot start the Lua interpreter to load functions: {e}");
            return;
        }
    };
    for code in codes {
        if let Err(e) = f.load(Bytes::from(code.clone()), true) {
            tracing::warn!("a function library from the snapshot was not loaded: {e}");
        }
    }
    st.functions = Some(Box::new(f));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_parsed_as_redis_does() {
        assert_eq!(metadata(b"#!lua name=lib\nx"), Ok(("lib".into(), 14)));
        assert_eq!(metadata(b"#!LUA  NAME=l_2  \r\nx"), Ok(("l_2".into(), 18)));
        let err = |c: &[u8]| metadata(c).unwrap_err();
        assert_eq!(err(b"return 1"), "ERR Missing library metadata");
        assert_eq!(err(b"#!lua name=x"), "ERR Invalid library metadata");
        assert_eq!(err(b"#!lua\nx"), "ERR Library name was not given");
        assert_eq!(err(b"#!lua name=a-b\nx"), BAD_NAME);
        assert_eq!(err(b"#!lua name=\nx"), BAD_NAME);
        assert_eq!(
            err(b"#!lua name=a name=b\nx"),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(
            err(b"#!lua name=a x=1\nx"),
            "ERR Invalid metadata value given: x=1"
        );
        assert_eq!(err(b"#!py name=a\nx"), "ERR Engine 'py' not found");
    }

    #[test]
    fn libraries_load_replace_and_keep_function_names_unique() {
        let mut f = Functions::new().expect("engine");
        let lib = |name: &str, func: &str| {
            Bytes::from(format!(
                "#!lua name={name}\nredis.register_function('{func}', function(keys, args) return 1 end)"
            ))
        };
        assert_eq!(f.load(lib("a", "f1"), false), Ok("a".into()));
        assert_eq!(
            f.load(lib("a", "f2"), false),
            Err("ERR Library 'a' already exists".into())
        );
        assert_eq!(
            f.load(lib("b", "F1"), false),
            Err("ERR Function F1 already exists".into())
        );
        assert_eq!(f.load(lib("a", "f2"), true), Ok("a".into()));
        assert!(f.get(b"f1").is_none());
        assert_eq!(f.get(b"F2").map(|r| r.library.as_str()), Some("a"));
        assert_eq!(f.get(b"f2").map(|r| r.name.as_str()), Some("f2"));
        assert_eq!((f.library_count(), f.function_count()), (1, 1));
        assert!(f.delete(b"a"));
        assert!(!f.delete(b"a"));
        assert_eq!((f.library_count(), f.function_count()), (0, 0));
        let long = "f".repeat(100);
        assert_eq!(f.load(lib("l", &long), false), Ok("l".into()));
        assert!(f.get(long.to_uppercase().as_bytes()).is_some());
    }
}
