//! Administration from the command line. Every change is audited with actor `cli`.

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::password::Password;
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Email, LoginIdentifier, PersonName, Phone, PortalId,
    Role,
};
use ekdwar_store::StoreError;
use ekdwar_store::identity::{self as users, User};

use super::Identity;
use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError, FormCheck};
use crate::i18n::Lang;
use crate::views::AccountView;

/// What an administrator's search found.
#[derive(Debug, serde::Serialize)]
pub struct Found {
    /// Exact matches first, then by name.
    pub accounts: Vec<AccountView>,
    /// Whether more accounts match than are shown (type more of the name).
    pub more: bool,
}

impl Found {
    /// The most accounts one search shows.
    pub const MOST: usize = 20;
    /// The longest search text read, in characters.
    pub const LONGEST: usize = 200;
}

pub struct NewUserInput {
    pub portal_id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password: Password,
    pub role: Role,
    /// The language of the person's messages; the portal's default when not given.
    pub language: Option<Lang>,
}

impl Identity {
    pub async fn admin_add_user(&self, input: NewUserInput) -> AppResult<AccountView> {
        let mut check = FormCheck::default();
        let portal_id = check.take("portal_id", PortalId::parse(&input.portal_id));
        let first = check.take("first_name", PersonName::parse(&input.first_name));
        let last = check.take("last_name", PersonName::parse(&input.last_name));
        let phone = input
            .phone
            .as_deref()
            .and_then(|p| check.take("phone", Phone::parse(p, &self.regions)));
        let email = input
            .email
            .as_deref()
            .and_then(|e| check.take("email", Email::parse(e)));
        check.finish()?;
        let (Some(portal_id), Some(first), Some(last)) = (portal_id, first, last) else {
            return Err(AppError::Internal(
                "form check passed without values".into(),
            ));
        };
        let mut ids = vec![first.as_str(), last.as_str(), portal_id.as_str()];
        ids.extend(phone.as_ref().map(Phone::as_str));
        ids.extend(email.as_ref().map(Email::as_str));
        self.check_new_password(&input.password, &input.password, &ids)?;
        let hash = self.hashing.hash(&input.password).await?;
        let now = self.clock.now();
        let user = User {
            id: UserId::new(self.random.id()),
            portal_id,
            first_name: first,
            last_name: last,
            phone,
            email,
            password_hash: Some(hash),
            password_changed_at: now,
            level: AccountLevel::Simplified,
            account_type: AccountType::Citizen,
            role: input.role,
            status: AccountStatus::Active,
            language: Some(input.language.as_ref().unwrap_or(&self.default_lang).tag()),
            consent_at: now,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.work().await?;
        match users::insert(&mut tx, &user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(col)) => {
                let field = match col {
                    "phone" => "phone",
                    "email" => "email",
                    _ => "portal_id",
                };
                return Err(AppError::Form(vec![FieldError::new(
                    field,
                    "already-registered",
                )]));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(
            &mut tx,
            &Actor::command_line(),
            Some(&user.id),
            AuditAction::AdminUserAdded,
            Outcome::Success,
            Some(user.role.as_str().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(AccountView::from(&user))
    }

    /// Finds an account by id, portal ID, phone or e-mail.
    /// A government employee's ID, if the account is one.
    pub async fn employee_of(&self, user_id: &UserId) -> AppResult<Option<String>> {
        let mut conn = self.store.conn().await?;
        Ok(ekdwar_store::employees::of(&mut conn, user_id)
            .await?
            .map(|(id, _)| id))
    }

    /// The account with this id.
    pub async fn account_of(&self, user_id: &UserId) -> AppResult<Option<User>> {
        let mut conn = self.store.conn().await?;
        Ok(users::by_id(&mut conn, user_id).await?)
    }

    pub async fn admin_find_user(&self, query: &str) -> AppResult<Option<AccountView>> {
        Ok(self.find_user(query).await?.as_ref().map(AccountView::from))
    }

    async fn find_user(&self, query: &str) -> AppResult<Option<User>> {
        let mut conn = self.store.read().await?;
        if let Some(u) = users::by_id(&mut conn, &UserId::new(query.trim())).await? {
            return Ok(Some(u));
        }
        match LoginIdentifier::parse(query, &self.regions) {
            Ok(id) => Ok(users::by_identifier(&mut conn, &id).await?),
            Err(_) => Ok(None),
        }
    }

    /// An administrator's search: the accounts whose phone, e-mail or portal ID is `text`
    /// exactly, then those whose name (given or family name first) starts with it, folded
    /// across case and script (`amit` finds अमित); at most [`Found::MOST`]. From the command
    /// line; pages use [`Identity::search_users`].
    pub async fn admin_search_users(&self, text: &str) -> AppResult<Found> {
        let mut conn = self.store.read().await?;
        let mut users: Vec<User> = Vec::new();
        let mut exact = Vec::new();
        if let Ok(p) = Phone::parse(text, &self.regions) {
            exact.push(LoginIdentifier::Phone(p));
        }
        if let Ok(e) = Email::parse(text) {
            exact.push(LoginIdentifier::Email(e));
        }
        if let Ok(p) = PortalId::parse(text.trim()) {
            exact.push(LoginIdentifier::PortalId(p));
        }
        for id in &exact {
            if let Some(u) = users::by_identifier(&mut conn, id).await?
                && !users.iter().any(|f| f.id == u.id)
            {
                users.push(u);
            }
        }
        let most = Found::MOST as i64;
        for u in users::by_name_prefix(&mut conn, &ekdwar_domain::name_search_key(text), most + 1)
            .await?
        {
            if !users.iter().any(|f| f.id == u.id) {
                users.push(u);
            }
        }
        let more = users.len() > Found::MOST;
        users.truncate(Found::MOST);
        Ok(Found {
            accounts: users.iter().map(AccountView::from).collect(),
            more,
        })
    }

    /// [`Identity::admin_search_users`] for a signed-in administrator, audited (who searched
    /// for what); anyone else is told there is no such page.
    pub async fn search_users(
        &self,
        by: &super::CurrentSession,
        actor: &Actor,
        text: &str,
    ) -> AppResult<Found> {
        if by.account.role != Role::Admin {
            return Err(AppError::NotFound);
        }
        let text: String = text.chars().take(Found::LONGEST).collect();
        let found = self.admin_search_users(&text).await?;
        let mut tx = self.work().await?;
        self.audit(
            &mut tx,
            actor,
            None,
            AuditAction::UsersSearched,
            Outcome::Success,
            Some(format!("{text:?}: {}", found.accounts.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    pub async fn admin_list_users(&self, limit: i64, offset: i64) -> AppResult<Vec<AccountView>> {
        let mut conn = self.store.conn().await?;
        Ok(users::list(&mut conn, limit, offset)
            .await?
            .iter()
            .map(AccountView::from)
            .collect())
    }

    /// Turns two-step login off for an account whose owner lost the app and the recovery
    /// codes, and removes its passkeys (the device may be the one lost); its sessions end,
    /// since one of them may be an attacker's.
    pub async fn admin_two_step_off(&self, query: &str) -> AppResult<AccountView> {
        let user = self.find_user(query).await?.ok_or(AppError::NotFound)?;
        let mut tx = self.work().await?;
        ekdwar_store::second_factor::remove(&mut tx, &user.id).await?;
        ekdwar_store::passkeys::remove_all(&mut tx, &user.id).await?;
        self.end_sessions(&mut tx, &user.id, super::Ending::AllBut(None))
            .await?;
        self.audit(
            &mut tx,
            &Actor::command_line(),
            Some(&user.id),
            AuditAction::TwoStepReset,
            Outcome::Success,
            None,
        )
        .await?;
        self.notify_owner(&mut tx, &user, "two-step-off").await?;
        tx.commit().await?;
        Ok(AccountView::from(&user))
    }

    /// Locks or unlocks an account; locking ends its sessions.
    pub async fn admin_set_status(
        &self,
        query: &str,
        status: AccountStatus,
    ) -> AppResult<AccountView> {
        let user = self.find_user(query).await?.ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        users::set_status(&mut tx, &user.id, status, now).await?;
        if status == AccountStatus::Locked {
            self.end_sessions(&mut tx, &user.id, super::Ending::AllBut(None))
                .await?;
        } else {
            super::login::forgive(&mut tx, &user).await?;
        }
        let action = match status {
            AccountStatus::Locked => AuditAction::AdminUserLocked,
            AccountStatus::Active => AuditAction::AdminUserUnlocked,
        };
        self.audit(
            &mut tx,
            &Actor::command_line(),
            Some(&user.id),
            action,
            Outcome::Success,
            None,
        )
        .await?;
        tx.commit().await?;
        let now = users::by_id(&mut *self.store.read().await?, &user.id)
            .await?
            .unwrap_or(user);
        Ok(AccountView::from(&now))
    }

    /// Sets an account's level by an administrator's decision (until registries and
    /// in-person confirmation set it); audited with the level before and after.
    pub async fn admin_set_level(
        &self,
        query: &str,
        level: ekdwar_domain::AccountLevel,
    ) -> AppResult<AccountView> {
        let user = self.find_user(query).await?.ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        users::set_level(&mut tx, &user.id, level, now).await?;
        self.audit(
            &mut tx,
            &Actor::command_line(),
            Some(&user.id),
            AuditAction::AdminLevelSet,
            Outcome::Success,
            Some(format!("{} -> {level}", user.level)),
        )
        .await?;
        tx.commit().await?;
        let now = users::by_id(&mut *self.store.read().await?, &user.id)
            .await?
            .unwrap_or(user);
        Ok(AccountView::from(&now))
    }

    /// Creates the demo accounts if they do not exist yet; returns their portal IDs.
    pub async fn seed_demo(&self) -> AppResult<Vec<(String, String)>> {
        let demo = [
            (
                "asha.devi",
                "Asha",
                "Devi",
                Some("+919800000001"),
                None,
                "demo-lotus-river-42",
                Role::Citizen,
                "hi",
            ),
            (
                "ivan.petrov",
                "Ivan",
                "Petrov",
                None,
                Some("ivan.petrov@example.org"),
                "demo-birch-valley-17",
                Role::Citizen,
                "ru",
            ),
            (
                "portal.admin",
                "Portal",
                "Administrator",
                None,
                Some("admin@example.org"),
                "demo-granite-harbor-99",
                Role::Admin,
                "en",
            ),
            (
                "officer.jaipur",
                "Meena",
                "Sharma",
                Some("+919800000009"),
                None,
                "demo-sandstone-fort-61",
                Role::Officer,
                "hi",
            ),
            (
                "operator.moscow",
                "Olga",
                "Orlova",
                None,
                Some("operator.moscow@example.org"),
                "demo-birch-square-24",
                Role::Officer,
                "ru",
            ),
            (
                "reviewer.demo",
                "Rekha",
                "Verma",
                None,
                Some("reviewer@example.org"),
                "demo-quiet-ledger-38",
                Role::Reviewer,
                "en",
            ),
        ];
        let mut out = Vec::new();
        for (pid, first, last, phone, email, password, role, lang) in demo {
            if self.admin_find_user(pid).await?.is_none() {
                self.admin_add_user(NewUserInput {
                    portal_id: pid.into(),
                    first_name: first.into(),
                    last_name: last.into(),
                    phone: phone.map(str::to_string),
                    email: email.map(str::to_string),
                    password: Password::new(password),
                    role,
                    language: Lang::parse(lang),
                })
                .await?;
            }
            out.push((pid.to_string(), password.to_string()));
        }
        Ok(out)
    }
}
