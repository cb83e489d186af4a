//! Bulk data written straight into the store (never through the use-cases): the people and the
//! submitted applications that races and benchmarks need by the hundred or the million. Seeded
//! accounts have no password and cannot log in.

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
}
