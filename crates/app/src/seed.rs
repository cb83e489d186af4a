//! Bulk data written straight into the store (never through the use-cases): the people and the
//! submitted applications that races and benchmarks need by the hundred or the million.
//! Applicants have no password and cannot log in; seeded accounts share one password, hashed
//! once (a million argon2 hashes would take hours).

use ekdwar_domain::catalog::Arn;
use ekdwar_domain::{ApplicationId, PersonName, PortalId, UserId};
use ekdwar_store::applications::{self, Application};
use ekdwar_store::identity::{self, User};

use crate::error::{AppError, AppResult};
use crate::views::AccountView;

impl crate::App {
    /// `n` citizens (portal IDs `{prefix}.0`, …), each with one submitted application for the
    /// latest version of `service` (answers given as JSON): their accounts and applications.
    pub async fn seed_applicants(
        &self,
        prefix: &str,
        n: usize,
        service: &str,
        answers: &str,
    ) -> AppResult<Vec<(AccountView, ApplicationId)>> {
        let snapshot = self.catalog.snapshot();
        let (version, def) = snapshot.service(service).ok_or(AppError::NotFound)?;
        let workflow = def.workflow.as_ref().ok_or(AppError::NotFound)?;
        let state = workflow
            .states
            .first()
            .ok_or(AppError::NotFound)?
            .id
            .clone();
        let now = self.core.clock.now();
        let mut out = Vec::with_capacity(n);
        let mut tx = self.core.store.begin().await?;
        for i in 0..n {
            let portal = format!("{prefix}.{i}");
            let user = User::citizen(
                UserId::new(self.core.random.id()),
                PortalId::parse(&portal)
                    .map_err(|_| AppError::field("prefix", "portal-id-invalid"))?,
                PersonName::parse("Seeded")
                    .map_err(|_| AppError::field("prefix", "name-missing"))?,
                PersonName::parse("Citizen")
                    .map_err(|_| AppError::field("prefix", "name-missing"))?,
                now,
            );
            identity::insert(&mut tx, &user).await?;
            let id = ApplicationId::new(self.core.random.id());
            let arn = Arn::generate(26, |m| self.core.random.below(m));
            applications::insert_many(
                &mut tx,
                &[Application {
                    id: id.clone(),
                    arn: Some(arn.as_str().to_string()),
                    user_id: user.id.clone(),
                    service: service.to_string(),
                    version,
                    department: def.department.clone(),
                    office: None,
                    state: state.clone(),
                    answers: answers.to_string(),
                    birth_date: None,
                    created_at: now,
                    updated_at: now,
                    submitted_at: Some(now),
                    reopened: "[]".into(),
                    due_on: None,
                    escalated_at: None,
                    claimed_by: None,
                }],
            )
            .await?;
            out.push((AccountView::from(&user), id));
        }
        ekdwar_store::commit(tx).await?;
        Ok(out)
    }

    /// `n` citizens with portal IDs `{prefix}.0`, …, phones `+91 8…` numbered from 0 and
    /// e-mails `{prefix}.{i}@example.in`, names drawn from four scripts, all with `password`
    /// (hashed once); see [`seed_accounts`]. `progress` hears how many are written so far.
    pub async fn seed_accounts(
        &self,
        prefix: &str,
        n: usize,
        password: &ekdwar_domain::password::Password,
        progress: &(dyn Fn(usize) + Sync),
    ) -> AppResult<()> {
        let hashing =
            crate::security::PasswordHashing::new(&self.core.config.argon2, &*self.core.random)
                .map_err(|e| AppError::Internal(Box::new(e)))?;
        let hash = hashing
            .hash(password)
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        seed_accounts(
            &self.core.store,
            prefix,
            n,
            &hash,
            self.core.clock.now(),
            progress,
        )
        .await
    }
}

/// Makes the schema of `config`'s database only up to migration `version` and writes `n`
/// seeded accounts into it as the release that had that schema did: a database to time an
/// upgrade on. It bypasses [`crate::App`], which needs the latest schema.
pub async fn seed_accounts_at_migration(
    config: &crate::config::Config,
    version: i64,
    prefix: &str,
    n: usize,
    password: &ekdwar_domain::password::Password,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<()> {
    use ekdwar_domain::Clock;
    std::fs::create_dir_all(&config.server.data_dir)?;
    let store = ekdwar_store::Store::connect(&config.database_url()).await?;
    store.migrate_to(version).await?;
    let hash = crate::security::PasswordHashing::new(&config.argon2, &crate::security::OsRandom)?
        .hash(password)
        .await?;
    let now = ekdwar_domain::time::SystemClock.now();
    seed_accounts(&store, prefix, n, &hash, now, progress)
        .await
        .map_err(|e| anyhow::anyhow!(e.in_english()))
}

/// Writes `n` generated citizens (as [`crate::App::seed_accounts`] describes) with the password
/// hash `hash` into `store`, at whatever schema it has: an older release's too, to measure an
/// upgrade. Ten thousand accounts to a transaction.
async fn seed_accounts(
    store: &ekdwar_store::Store,
    prefix: &str,
    n: usize,
    hash: &str,
    now: ekdwar_domain::Timestamp,
    progress: &(dyn Fn(usize) + Sync),
) -> AppResult<()> {
    // Every seeded account has the same password: never beside real people's accounts.
    let existing = identity::count(&mut *store.read().await?).await?;
    if existing > 0 {
        return Err(AppError::Form(vec![
            crate::error::FieldError::new("accounts", "seed-not-empty").arg("count", existing),
        ]));
    }
    // SQLite looks a statement's parameters up by a linear scan, so a statement of many rows
    // costs the square of its size there: twenty rows a statement, ten thousand a transaction.
    let rows = match store.backend() {
        ekdwar_store::Backend::Sqlite => 20,
        ekdwar_store::Backend::Postgres => 1000,
    };
    let statements = 10_000 / rows;
    let keys = store.version().await? >= identity::NAME_KEYS_SINCE;
    let names = Names::new()?;
    let mut written = 0;
    while written < n {
        let mut tx = store.begin().await?;
        for _ in 0..statements {
            let batch: Vec<User> = (written..n.min(written + rows))
                .map(|i| names.account(prefix, i, hash, now))
                .collect::<AppResult<_>>()?;
            if batch.is_empty() {
                break;
            }
            if keys {
                identity::insert_many(&mut tx, &batch).await?;
            } else {
                identity::insert_many_without_name_keys(&mut tx, &batch).await?;
            }
            written += batch.len();
        }
        ekdwar_store::commit(tx).await?;
        progress(written);
    }
    // What autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) does after a bulk load.
    store.maintain().await?;
    Ok(())
}

/// Names as a state's register holds them: Latin, Devanagari, Bengali and Cyrillic.
const FIRST_NAMES: &[&str] = &[
    "Aarav",
    "Ananya",
    "Ravi",
    "Lata",
    "Meera",
    "Arjun",
    "अमित",
    "सुनीता",
    "राहुल",
    "प्रिया",
    "অমিত",
    "সুমিতা",
    "রাহুল",
    "দীপা",
    "Иван",
    "Ольга",
    "Сергей",
    "Анна",
];
const LAST_NAMES: &[&str] = &[
    "Sharma",
    "Verma",
    "Das",
    "Mehra",
    "Iyer",
    "Khan",
    "शर्मा",
    "वर्मा",
    "गुप्ता",
    "दास",
    "বসু",
    "ঘোষ",
    "সেন",
    "Иванов",
    "Петрова",
    "Смирнов",
];

/// The names of seeded accounts, checked once.
struct Names {
    first: Vec<PersonName>,
    last: Vec<PersonName>,
}

impl Names {
    fn new() -> AppResult<Self> {
        let parse = |list: &[&str]| -> AppResult<Vec<PersonName>> {
            list.iter()
                .map(|n| {
                    PersonName::parse(n).map_err(|_| AppError::field("prefix", "name-missing"))
                })
                .collect()
        };
        Ok(Self {
            first: parse(FIRST_NAMES)?,
            last: parse(LAST_NAMES)?,
        })
    }

    fn account(
        &self,
        prefix: &str,
        i: usize,
        hash: &str,
        now: ekdwar_domain::Timestamp,
    ) -> AppResult<User> {
        let invalid = |field: &'static str| AppError::field("prefix", field);
        // Spread over the lists by two co-prime steps, so that neighbours differ.
        let first = &self.first[(i * 7) % self.first.len()];
        let last = &self.last[(i * 11 / 3) % self.last.len()];
        Ok(User {
            // A mobile number in E.164 by construction (+91 and ten digits from 8000000000).
            phone: Some(ekdwar_domain::Phone::from_trusted(format!(
                "+91{}",
                8_000_000_000_u64 + i as u64
            ))),
            email: Some(
                ekdwar_domain::Email::parse(&format!("{prefix}.{i}@example.in"))
                    .map_err(|_| invalid("email-invalid"))?,
            ),
            password_hash: Some(hash.to_string()),
            ..User::citizen(
                UserId::new(format!("{prefix}-{i:08}")),
                PortalId::parse(&format!("{prefix}.{i}"))
                    .map_err(|_| invalid("portal-id-invalid"))?,
                first.clone(),
                last.clone(),
                now,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_phones_are_what_parsing_them_gives() {
        let names = Names::new().unwrap();
        let regions = ekdwar_domain::Regions::india();
        for i in [0, 1, 12_345, 999_999, 9_999_999] {
            let u = names
                .account("seed", i, "h", ekdwar_domain::Timestamp::from_millis(0))
                .unwrap();
            let phone = u.phone.unwrap();
            assert_eq!(
                ekdwar_domain::Phone::parse(phone.as_str(), &regions).unwrap(),
                phone
            );
        }
    }
}
