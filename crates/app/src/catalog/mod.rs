//! The catalog: importing and checking service definitions, the version every node serves, and
//! finding services by place, department, category and words.

mod files;
mod search;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::{Catalog as Entries, CatalogFile, Service, ServiceDefinition};
use ekdwar_store::catalog as store;
use sha2::{Digest, Sha256};

pub use files::{Bundle, FileProblem, SourceFile};
pub use search::SearchIndex;

use crate::audit::Actor;
use crate::error::{AppError, AppResult, internal};

crate::core::service!(
    /// The catalog of services: import, versions, browsing and search.
    Catalog,
    current: Arc<RwLock<Arc<Snapshot>>>
);

/// The catalog as a node serves it: the latest version of the shared entries and of every
/// service, with the search index built from them.
#[derive(Debug)]
pub struct Snapshot {
    /// Regions, departments, categories, offices, holidays.
    pub entries: Entries,
    /// Every service by code, in its latest version.
    services: Vec<(i64, Arc<Service>)>,
    by_code: BTreeMap<String, usize>,
    index: SearchIndex,
    generation: i64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            entries: Entries::parse(CatalogFile::default(), &[]).expect("an empty catalog"),
            services: Vec::new(),
            by_code: BTreeMap::new(),
            index: SearchIndex::build(&[]),
            generation: -1,
        }
    }
}

impl Snapshot {
    fn new(entries: Entries, services: Vec<(i64, Arc<Service>)>, generation: i64) -> Self {
        let index = SearchIndex::build(&services.iter().map(|(_, s)| &**s).collect::<Vec<_>>());
        let by_code = services
            .iter()
            .enumerate()
            .map(|(i, (_, s))| (s.code.clone(), i))
            .collect();
        Self {
            entries,
            services,
            by_code,
            index,
            generation,
        }
    }

    /// A service in its latest version, with the version's number.
    /// A service by code: its version and its definition (shared, not copied).
    pub fn service(&self, code: &str) -> Option<(i64, &Arc<Service>)> {
        self.by_code
            .get(code)
            .map(|&i| (self.services[i].0, &self.services[i].1))
    }

    /// Every service offered in `region` (none: everywhere), in catalog order.
    pub fn offered<'a>(&'a self, region: Option<&'a str>) -> impl Iterator<Item = &'a Service> {
        self.services
            .iter()
            .map(|(_, s)| &**s)
            .filter(move |s| s.offered_in(&self.entries, region))
    }

    /// The services offered in `region` that match `query`, best first.
    pub fn search<'a>(&'a self, query: &str, region: Option<&'a str>) -> Vec<&'a Service> {
        self.index
            .search(query)
            .into_iter()
            .map(|i| &*self.services[i].1)
            .filter(|s| s.offered_in(&self.entries, region))
            .collect()
    }

    /// How many services there are.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether nothing is imported yet.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// What an import changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Whether `catalog.toml` made a new version.
    pub catalog_changed: bool,
    /// Services with a new version: (code, version).
    pub changed: Vec<(String, i64)>,
    /// Services whose definition is as stored.
    pub unchanged: Vec<String>,
}

/// The JSON Schema of service definitions (or of `catalog.toml`), for editors: it is
/// published in `services/schema/` and a test keeps that copy current.
pub fn schema(catalog: bool) -> String {
    let schema = if catalog {
        schemars::schema_for!(CatalogFile)
    } else {
        schemars::schema_for!(ServiceDefinition)
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

fn digest(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

impl Catalog {
    /// The languages every text of a definition must have: the portal's.
    pub fn languages() -> Vec<String> {
        crate::i18n::Lang::all()
            .iter()
            .map(crate::i18n::Lang::tag)
            .collect()
    }

    /// Checks files as `service validate` does, without importing them.
    pub fn check(&self, files: &[SourceFile]) -> Result<Bundle, Vec<FileProblem>> {
        let langs = Self::languages();
        Bundle::parse(files, &langs.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Imports checked files: a new version of each definition that changed, all in one
    /// transaction, each recorded in the audit log. Then this node serves the new catalog.
    pub async fn import(&self, bundle: &Bundle, actor: &Actor) -> AppResult<ImportReport> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        let mut report = ImportReport::default();
        let body = serde_json::to_string(bundle.entries.file())
            .map_err(|e| AppError::Internal(e.into()))?;
        let (version, changed) = store::put_catalog(&mut work, &body, &digest(&body), now).await?;
        if changed {
            report.catalog_changed = true;
            self.audit(
                &mut work,
                actor,
                None,
                AuditAction::CatalogImported,
                Outcome::Success,
                Some(format!("version {version}")),
            )
            .await?;
        }
        for service in &bundle.services {
            let body = serde_json::to_string(service.definition())
                .map_err(|e| AppError::Internal(e.into()))?;
            let (version, changed) =
                store::put_service(&mut work, &service.code, &body, &digest(&body), now).await?;
            if changed {
                self.audit(
                    &mut work,
                    actor,
                    None,
                    AuditAction::ServiceImported,
                    Outcome::Success,
                    Some(format!("{} version {version}", service.code)),
                )
                .await?;
                report.changed.push((service.code.clone(), version));
            } else {
                report.unchanged.push(service.code.clone());
            }
        }
        work.commit().await?;
        self.reload().await?;
        Ok(report)
    }

    /// The definition of `code` at `version`: the current one from the snapshot, an older
    /// one read as it was.
    pub(crate) async fn definition(
        &self,
        code: &str,
        version: i64,
    ) -> AppResult<std::sync::Arc<Service>> {
        let snapshot = self.snapshot();
        if let Some((v, s)) = snapshot.service(code)
            && v == version
        {
            return Ok(s.clone());
        }
        // An older version: read it as it was.
        let stored =
            ekdwar_store::catalog::service_version(&mut *self.store.read().await?, code, version)
                .await?
                .ok_or(AppError::NotFound)?;
        let def: ServiceDefinition = serde_json::from_str(&stored.body).map_err(internal)?;
        let langs = Self::languages();
        let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
        Service::parse(def, &snapshot.entries, &langs)
            .map(std::sync::Arc::new)
            .map_err(|p| internal(p[0].to_string()))
    }

    /// The catalog this node serves.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Loads the catalog from the database if another node (or the command line) imported
    /// since this node last loaded it.
    pub async fn refresh(&self) -> AppResult<()> {
        let generation = store::generation(&mut *self.store.read().await?).await?;
        if generation != self.snapshot().generation {
            self.reload().await?;
        }
        Ok(())
    }

    /// Loads the latest catalog and services from the database and builds the search index.
    /// A stored definition that no longer passes this release's checks is left out (and
    /// logged), so one bad row cannot take the catalog down.
    pub async fn reload(&self) -> AppResult<()> {
        let (generation, catalog, versions) = {
            let mut conn = self.store.read().await?;
            let generation = store::generation(&mut conn).await?;
            let catalog = store::latest_catalog(&mut conn).await?;
            let versions = store::latest_services(&mut conn).await?;
            (generation, catalog, versions)
        };
        let langs = Self::languages();
        let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
        let file: CatalogFile = match catalog {
            Some(v) => serde_json::from_str(&v.body).map_err(|e| AppError::Internal(e.into()))?,
            None => CatalogFile::default(),
        };
        let entries = Entries::parse(file, &langs).map_err(|p| {
            AppError::Internal(format!("the stored catalog does not check: {}", p[0]).into())
        })?;
        let mut services = Vec::new();
        for v in versions {
            let parsed = serde_json::from_str::<ServiceDefinition>(&v.body)
                .map_err(|e| vec![e.to_string()])
                .and_then(|d| {
                    Service::parse(d, &entries, &langs)
                        .map_err(|p| p.iter().map(ToString::to_string).collect())
                });
            match parsed {
                Ok(s) => services.push((v.version, Arc::new(s))),
                Err(problems) => tracing::error!(
                    service = %v.code,
                    version = v.version,
                    problem = %problems.join("; "),
                    "a stored service definition does not check; it is not offered"
                ),
            }
        }
        let snapshot = Arc::new(Snapshot::new(entries, services, generation));
        match self.current.write() {
            Ok(mut s) => *s = snapshot,
            Err(e) => *e.into_inner() = snapshot,
        }
        Ok(())
    }
}
