//! The architecture, held by reading the sources: which tables each capability may touch, and
//! in which order the capabilities of the app crate and the modules of the web crate stand.
//!
//! The store is one crate of plain functions, one module per group of tables, so the compiler
//! alone would let any use-case reach any table; and one crate's modules may import each
//! other freely, so the compiler would let capabilities grow into a circle. These tests hold
//! each capability to the store modules it is declared to use, and each module to those below
//! it in [`APP_ORDER`] and [`WEB_ORDER`]: a new dependency is a change to a table below, made
//! on purpose and seen in review, never a stray import.

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
            "passkeys",
            "throttle",
            "identifiers",
            "employees",
        ],
    ),
    // Assurance owns profiles and their checks, and sets the level of accounts; an Aadhaar
    // sign-up is a verification flow whose code is the registry's.
    (
        "assurance",
        &[
            "profiles",
            "identity",
            "identifiers",
            "letters",
            "verifications",
        ],
    ),
    // Data keys.
    ("vault.rs", &["vault"]),
    // The locker owns documents, locker ids and the objects waiting to be removed; it finds the
    // person an issuer names by Aadhaar through the identifier index.
    ("locker", &["locker", "identifiers"]),
    // Single sign-on owns apps, codes, tokens and keys; it reads sessions (an app's tokens
    // live and die with the session) and users (the claims an app receives).
    ("sso", &["sso", "sessions", "identity"]),
    // The outbox is written by every capability and delivered by notify.
    ("outbox.rs", &["notify"]),
    ("notify.rs", &["notify"]),
    // The unit of work adds jobs.
    ("core.rs", &["jobs"]),
    // The catalog owns the versions of its definitions.
    ("catalog", &["catalog"]),
    // Applications own themselves and their history.
    ("applications", &["applications", "staff"]),
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

/// The app crate's parts from the bottom up. A part may use the parts of its own layer and of
/// those below it, never one above: a capability that must tell one above it something does so
/// through a port it declares (`identity::SessionsEnded`, which single sign-on implements) or a
/// job the runner hands on (payments' `settle-hold`, which appointments do).
const APP_ORDER: &[&[&str]] = &[
    // Shared by every capability: configuration, errors, languages, metrics, keys and hashing,
    // what pages show, the core (the unit of work, the job queue, today's date, ports), the
    // security log, brute-force limits and challenges, writing messages to the outbox, and
    // the portal's own health.
    &[
        "config", "error", "i18n", "metrics", "security", "views", "core", "audit", "limits",
        "captcha", "outbox", "health", "vault",
    ],
    // Delivering the outbox through the gateways.
    &["notify"],
    // Accounts, sessions, recovery, two-step login, external logins.
    &["identity"],
    // The standard profile and its registry checks: levels rest on accounts.
    &["assurance"],
    // The document locker: documents belong to accounts.
    &["locker"],
    // The OpenID Connect provider: it reads the person's session.
    &["sso"],
    &["catalog"],
    // Fees: an order belongs to an application of a service of the catalog.
    &["payments"],
    // Applications open their order when submitted.
    &["applications"],
    // Appointments for applications, paid through payments.
    &["appointments"],
    // What runs everything: the jobs runner, bulk seeding, the test doubles, the assembly.
    &["jobs", "seed", "testing", "lib"],
];

/// The web crate's modules from the bottom up, in the app crate's order.
const WEB_ORDER: &[&[&str]] = &[
    // The request's context, errors, rendering, assets.
    &["assets", "error", "ctx", "dates"],
    &["identity"],
    &["assurance", "aadhaar"],
    &["locker"],
    &["sso", "external", "admin"],
    &["catalog"],
    // The home page shows the catalog's popular services.
    &["system"],
    &["payments"],
    // An application's page shows its payment.
    &["applications"],
    &[
        "appointments",
        "officer",
        "receipt",
        "eform",
        "hall",
        "desk",
    ],
    &["lib"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn web_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src")
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

/// The part of a crate a source file belongs to: its folder under `src/`, or its file's stem.
fn part_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .expect("a part");
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// The first segment of every path that follows `ekdwar_store::`, including each member of a
/// `{…}` group.
fn store_paths(text: &str) -> BTreeSet<String> {
    paths_after(text, "ekdwar_store::")
}

/// The first segment of every path that follows `prefix`, including each member of a `{…}`
/// group. Comments are read too: a doc link to a module above is a dependency of the reader's.
fn paths_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        // `$crate::` in a macro is the crate itself, like `crate::`; `ekdwar_store::` must not
        // be the tail of a longer name.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
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
        let part = part_of(relative);
        let text = std::fs::read_to_string(file).expect("readable source");
        let used: Vec<String> = store_paths(&text)
            .into_iter()
            .filter(|m| modules.contains(m))
            .collect();
        let permitted = allowed
            .get(part.as_str())
            .or_else(|| allowed.get(format!("{part}.rs").as_str()))
            .copied()
            .unwrap_or(&[]);
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

/// The breaches of `order` in the crate whose sources are in `dir`: every `crate::` path from a
/// part to a part of a higher layer (a name that is no part is the crate's root, `lib`).
fn upward_imports(dir: &Path, order: &[&[&str]]) -> (Vec<String>, BTreeSet<String>) {
    let layer_of: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .flat_map(|(i, parts)| parts.iter().map(move |p| (*p, i)))
        .collect();
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut breaches = Vec::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(dir).expect("under src");
        let part = part_of(relative);
        let Some(&from) = layer_of.get(part.as_str()) else {
            unplaced.insert(part);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        for used in paths_after(&text, "crate::") {
            let used = if layer_of.contains_key(used.as_str()) {
                used
            } else {
                "lib".to_string()
            };
            if layer_of[used.as_str()] > from {
                breaches.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
    }
    (breaches, unplaced)
}

fn assert_in_order(name: &str, dir: &Path, order: &[&[&str]]) {
    let (breaches, unplaced) = upward_imports(dir, order);
    assert!(
        unplaced.is_empty(),
        "{name}: parts with no place in the order (add them to its table in \
         tests/boundaries.rs): {unplaced:?}"
    );
    assert!(
        breaches.is_empty(),
        "{name}: a part imports one above it in the order (reach it through a port the lower \
         part declares, or move what both need below them):\n{}",
        breaches.join("\n")
    );
}

#[test]
fn capabilities_depend_on_those_below_them_only() {
    assert_in_order("crates/app", &src(), APP_ORDER);
}

#[test]
fn web_modules_depend_on_those_below_them_only() {
    assert_in_order("crates/web", &web_src(), WEB_ORDER);
}

#[test]
fn the_order_reader_sees_an_upward_import() {
    let dir = std::env::temp_dir().join(format!("ekdwar-boundaries-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("low")).unwrap();
    std::fs::write(
        dir.join("low/mod.rs"),
        "use crate::{high::{self, Thing}, low};\n",
    )
    .unwrap();
    std::fs::write(dir.join("high.rs"), "use crate::low::Port;\n").unwrap();
    std::fs::write(dir.join("lib.rs"), "mod high;\nmod low;\n").unwrap();
    let (breaches, unplaced) = upward_imports(&dir, &[&["low"], &["high"], &["lib"]]);
    let (_, extra) = upward_imports(&dir, &[&["low"], &["lib"]]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(breaches, ["low/mod.rs uses crate::high"]);
    assert!(unplaced.is_empty());
    assert_eq!(extra.into_iter().collect::<Vec<_>>(), ["high"]);
}
