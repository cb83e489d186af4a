//! Bulk data written straight into the store (never through the use-cases): the people and the
//! submitted applications that races and benchmarks need by the hundred or the million.
//! Applicants have no password and cannot log in; seeded accounts share one password, hashed
//! once (a million argon2 hashes would take hours).

use ekdwar_domain::catalog::Arn;
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, ApplicationId, PersonName, PortalId, Role, UserId,
};
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
            let user = User {
                id: UserId::new(self.core.random.id()),
                portal_id: PortalId::parse(&portal)
                    .map_err(|_| AppError::field("prefix", "portal-id-invalid"))?,
                first_name: PersonName::parse("Seeded")
                    .map_err(|_| AppError::field("prefix", "name-missing"))?,
                last_name: PersonName::parse("Citizen")
                    .map_err(|_| AppError::field("prefix", "name-missing"))?,
                phone: None,
                email: None,
                password_hash: None,
                password_changed_at: now,
                level: AccountLevel::Simplified,
                account_type: AccountType::Citizen,
                role: Role::Citizen,
                status: AccountStatus::Active,
                language: None,
                consent_at: now,
                created_at: now,
                updated_at: now,
            };
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
    /// (hashed once); written a thousand to a statement, ten statements to a transaction.
    /// `progress` hears how many are written so far.
    pub async fn seed_accounts(
        &self,
        prefix: &str,
        n: usize,
        password: &ekdwar_domain::password::Password,
        progress: &(dyn Fn(usize) + Sync),
    ) -> AppResult<()> {
        const ROWS: usize = 1000;
        const STATEMENTS: usize = 10;
        let hashing =
            crate::security::PasswordHashing::new(&self.core.config.argon2, &*self.core.random)
                .map_err(|e| AppError::Internal(Box::new(e)))?;
        let hash = hashing
            .hash(password)
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        let now = self.core.clock.now();
        let regions = ekdwar_domain::Regions::india();
        let mut written = 0;
        while written < n {
            let mut tx = self.core.store.begin().await?;
            for _ in 0..STATEMENTS {
                let batch: Vec<User> = (written..n.min(written + ROWS))
                    .map(|i| seeded_account(prefix, i, &hash, now, &regions))
                    .collect::<AppResult<_>>()?;
                if batch.is_empty() {
                    break;
                }
                identity::insert_many(&mut tx, &batch).await?;
                written += batch.len();
            }
            ekdwar_store::commit(tx).await?;
            progress(written);
        }
        Ok(())
    }
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

fn seeded_account(
    prefix: &str,
    i: usize,
    hash: &str,
    now: ekdwar_domain::Timestamp,
    regions: &ekdwar_domain::Regions,
) -> AppResult<User> {
    let invalid = |field: &'static str| AppError::field("prefix", field);
    // Spread over the lists by two co-prime steps, so that neighbours differ.
    let first = FIRST_NAMES[(i * 7) % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i * 11 / 3) % LAST_NAMES.len()];
    Ok(User {
        id: UserId::new(format!("{prefix}-{i:08}")),
        portal_id: PortalId::parse(&format!("{prefix}.{i}"))
            .map_err(|_| invalid("portal-id-invalid"))?,
        first_name: PersonName::parse(first).map_err(|_| invalid("name-missing"))?,
        last_name: PersonName::parse(last).map_err(|_| invalid("name-missing"))?,
        phone: Some(
            ekdwar_domain::Phone::parse(&format!("+91{}", 8_000_000_000_u64 + i as u64), regions)
                .map_err(|_| invalid("phone-invalid"))?,
        ),
        email: Some(
            ekdwar_domain::Email::parse(&format!("{prefix}.{i}@example.in"))
                .map_err(|_| invalid("email-invalid"))?,
        ),
        password_hash: Some(hash.to_string()),
        password_changed_at: now,
        level: AccountLevel::Simplified,
        account_type: AccountType::Citizen,
        role: Role::Citizen,
        status: AccountStatus::Active,
        language: None,
        consent_at: now,
        created_at: now,
        updated_at: now,
    })
}
