//! Which tables each capability may touch. The store is one crate of plain functions, one
//! module per group of tables, so the compiler alone would let any use-case reach any table.
//! This test reads the app crate's sources and holds each capability to the store modules it
//! is declared to use: a new dependency between capabilities is a change to the table below,
//! made on purpose and seen in review, never a stray import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The store modules each part of the app crate may use. A part is a folder (a capability with
/// several files) or a file under `src/`.
const ALLOWED: &[(&str, &[&str])] = &[
    // Accounts own users, sessions, verifications, second factors and login throttles.
    (
        "identity",
        &[
            "identity",
            "sessions",
            "verifications",
            "second_factor",
            "throttle",
        ],
    ),
    // Single sign-on owns apps, codes, tokens and keys; it reads sessions (an app's tokens
    // live and die with the session) and users (the claims an app receives).
    ("sso", &["sso", "sessions", "identity"]),
    ("notify.rs", &["notify"]),
    // The catalog owns the versions of its definitions.
    ("catalog", &["catalog"]),
    // Applications own themselves and their history; they read the versions they pin.
    ("applications", &["applications", "catalog", "staff"]),
    // Payments own orders, attempts, the ledger and refunds; they read an application's ARN
    // (for the payer's messages).
    ("payments", &["payments", "applications"]),
    // Appointments own centres, slots, appointments and the halls' queues.
    ("appointments", &["appointments"]),
    ("audit.rs", &["audit"]),
    // Bulk data for races and benchmarks goes straight into accounts and applications.
    ("seed.rs", &["identity", "applications"]),
    // The runner owns jobs and does the housekeeping of expired rows in every table.
    (
        "jobs.rs",
        &[
            "jobs",
            "notify",
            "sessions",
            "sso",
            "throttle",
            "verifications",
        ],
    ),
    // Brute-force protection: counters only.
    ("limits.rs", &["throttle"]),
    ("captcha.rs", &["throttle"]),
    // Views turn records into what pages and the command line show.
    ("views.rs", &["identity", "sso", "notify"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The store's modules that hold tables (its other modules are plumbing).
fn store_modules() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/src");
    std::fs::read_dir(dir)
        .expect("store sources")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let module = name.strip_suffix(".rs")?.to_string();
            (!["lib", "testing", "contract_tests", "dialect"].contains(&module.as_str()))
                .then_some(module)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable sources") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first segment of every path that follows `ekdwar_store::`, including each member of a
/// `{…}` group.
fn store_paths(text: &str) -> BTreeSet<String> {
    const PREFIX: &str = "ekdwar_store::";
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        rest = &rest[at + PREFIX.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut member = String::new();
            let mut first_segment = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c == ',' {
                    found.insert(std::mem::take(&mut member));
                    first_segment = true;
                } else if first_segment && (c.is_alphanumeric() || c == '_') {
                    member.push(c);
                } else if !member.is_empty() {
                    first_segment = false;
                }
            }
            found.insert(member);
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found.remove("");
    found
}

#[test]
fn each_capability_touches_only_its_declared_tables() {
    let modules = store_modules();
    assert!(modules.contains("identity") && modules.contains("sso"));
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut breaches = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(src()).expect("under src");
        let part = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a part");
        let text = std::fs::read_to_string(file).expect("readable source");
        let used: Vec<String> = store_paths(&text)
            .into_iter()
            .filter(|m| modules.contains(m))
            .collect();
        let permitted = allowed.get(part).copied().unwrap_or(&[]);
        for m in used {
            if !permitted.contains(&m.as_str()) {
                breaches.push(format!("{} uses ekdwar_store::{m}", relative.display()));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "a capability reaches tables it does not declare (add them to ALLOWED in \
         tests/boundaries.rs if the dependency is meant):\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_and_nested_imports() {
    let text = "use ekdwar_store::{identity::{self, User}, sessions, Conn};\n\
                let x = ekdwar_store::throttle::modify(conn);";
    let found: Vec<String> = store_paths(text).into_iter().collect();
    assert_eq!(found, ["Conn", "identity", "sessions", "throttle"]);
}
