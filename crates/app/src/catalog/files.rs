//! Reading definition files: `catalog.toml` and one TOML file per service. Every problem in
//! every file is collected, each naming the file, the place inside it and what is wrong.

use ekdwar_domain::catalog::{Catalog as Entries, CatalogFile, Service, ServiceDefinition};

/// A file as read from a folder (or bundled in the binary).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Its path relative to the folder imported, with `/` separators.
    pub name: String,
    /// Its contents.
    pub text: String,
}

/// A problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file's path relative to the folder.
    pub file: String,
    /// Where inside it: a key path, or a line and column for a syntax error.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.is_empty() {
            true => write!(f, "{}: {}", self.file, self.message),
            false => write!(f, "{}: {}: {}", self.file, self.path, self.message),
        }
    }
}

/// The name of the file with the shared entries.
pub const CATALOG_FILE: &str = "catalog.toml";

/// A checked set of definitions, ready to import.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Regions, departments, categories, offices, holidays.
    pub entries: Entries,
    /// The services, in file-name order.
    pub services: Vec<Service>,
}

fn toml_problem(file: &str, text: &str, e: &toml::de::Error) -> FileProblem {
    let path = e
        .span()
        .map(|span| {
            let mut end = span.start.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let before = &text[..end];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}")
        })
        .unwrap_or_default();
    FileProblem {
        file: file.to_string(),
        path,
        message: e.message().trim().to_string(),
    }
}

impl Bundle {
    /// Parses and checks `files`: exactly one `catalog.toml`, every other `.toml` file a
    /// service, no code used twice.
    pub fn parse(files: &[SourceFile], langs: &[&str]) -> Result<Self, Vec<FileProblem>> {
        let mut problems = Vec::new();
        let mut files: Vec<&SourceFile> =
            files.iter().filter(|f| f.name.ends_with(".toml")).collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let (catalogs, services): (Vec<&SourceFile>, Vec<&SourceFile>) =
            files.into_iter().partition(|f| f.name == CATALOG_FILE);
        let Some(catalog) = catalogs.first() else {
            return Err(vec![FileProblem {
                file: CATALOG_FILE.into(),
                path: String::new(),
                message: "the folder has no catalog.toml (regions, departments, categories)".into(),
            }]);
        };
        let entries = match toml::from_str::<CatalogFile>(&catalog.text) {
            Err(e) => {
                problems.push(toml_problem(&catalog.name, &catalog.text, &e));
                None
            }
            Ok(file) => match Entries::parse(file, langs) {
                Ok(entries) => Some(entries),
                Err(ps) => {
                    problems.extend(ps.into_iter().map(|p| FileProblem {
                        file: catalog.name.clone(),
                        path: p.path,
                        message: p.message,
                    }));
                    None
                }
            },
        };
        let mut parsed = Vec::new();
        let mut codes = std::collections::BTreeMap::new();
        for f in services {
            let def = match toml::from_str::<ServiceDefinition>(&f.text) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(toml_problem(&f.name, &f.text, &e));
                    continue;
                }
            };
            if let Some(other) = codes.insert(def.code.clone(), f.name.clone()) {
                problems.push(FileProblem {
                    file: f.name.clone(),
                    path: "code".into(),
                    message: format!("the code \"{}\" is already used by {other}", def.code),
                });
            }
            let Some(entries) = &entries else { continue };
            match Service::parse(def, entries, langs) {
                Ok(s) => parsed.push(s),
                Err(ps) => problems.extend(ps.into_iter().map(|p| FileProblem {
                    file: f.name.clone(),
                    path: p.path,
                    message: p.message,
                })),
            }
        }
        match (entries, problems.is_empty()) {
            (Some(entries), true) => Ok(Self {
                entries,
                services: parsed,
            }),
            _ => Err(problems),
        }
    }

    /// Reads every `.toml` file under `dir`.
    pub fn read_dir(dir: &std::path::Path) -> std::io::Result<Vec<SourceFile>> {
        fn walk(
            root: &std::path::Path,
            dir: &std::path::Path,
            out: &mut Vec<SourceFile>,
        ) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    walk(root, &path, out)?;
                } else if path.extension().is_some_and(|e| e == "toml") {
                    let name = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    out.push(SourceFile {
                        name,
                        text: std::fs::read_to_string(&path)?,
                    });
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out)?;
        Ok(out)
    }
}
