//! The identity desk of a centre that offers identity confirmation: its operator finds a
//! citizen, sees their checked profile beside the document in front of them, and confirms
//! them to the verified level; registers a citizen who has no account (with the code sent to
//! the citizen's own phone); and restores access for one who lost their phone and e-mail
//! (after the same in-person check, with a code to their new phone). Operators of other
//! centres (or of none) find no desk; every look-up and action is audited with the centre.

use std::sync::Arc;

use ekdwar_domain::appointments::{Capability, Centre};
use ekdwar_domain::{Contact, UserId};

use super::Appointments;
use crate::assurance::PersonCard;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

/// A citizen to register at the desk, as the operator typed them.
pub struct DeskRegistration<'a> {
    pub phone: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// The citizen agreed to the terms, in front of the operator.
    pub consent: bool,
    /// The citizen's language.
    pub lang: &'a Lang,
}

impl Appointments {
    /// The centres where a person can have their identity confirmed.
    pub async fn identity_centres(&self) -> AppResult<Vec<Arc<Centre>>> {
        Ok(self
            .centres()
            .await?
            .values()
            .filter(|c| c.can(Capability::IdentityConfirmation))
            .cloned()
            .collect())
    }

    /// The operator's centre, if it confirms identities; "not found" otherwise.
    pub async fn identity_desk(&self, operator: &UserId) -> AppResult<Arc<Centre>> {
        let centre = self.my_centre(operator).await?;
        if centre.can(Capability::IdentityConfirmation) {
            Ok(centre)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The person a query names (phone, e-mail, portal ID, confirmed national identifier),
    /// with their checked profile; the look-up is audited as a view of their data.
    pub async fn desk_find(
        &self,
        operator: &UserId,
        query: &str,
        actor: &Actor,
    ) -> AppResult<Option<PersonCard>> {
        let centre = self.identity_desk(operator).await?;
        let Some(user_id) = self.assurance.find_person(query).await? else {
            return Ok(None);
        };
        self.desk_card(&centre, &user_id, actor).await.map(Some)
    }

    /// A person's card at the desk.
    pub async fn desk_person(
        &self,
        operator: &UserId,
        user_id: &UserId,
        actor: &Actor,
    ) -> AppResult<PersonCard> {
        let centre = self.identity_desk(operator).await?;
        self.desk_card(&centre, user_id, actor).await
    }

    async fn desk_card(
        &self,
        centre: &Centre,
        user_id: &UserId,
        actor: &Actor,
    ) -> AppResult<PersonCard> {
        self.assurance
            .card(user_id, &format!("centre {}", centre.def.code), actor)
            .await
    }

    /// Confirms the person's identity in person, at the operator's centre.
    pub async fn desk_confirm(
        &self,
        operator: &UserId,
        user_id: &UserId,
        actor: &Actor,
    ) -> AppResult<()> {
        let centre = self.identity_desk(operator).await?;
        self.assurance
            .confirm_in_person(user_id, operator, &centre.def.name, actor)
            .await
    }

    /// Where and by whom, for the citizen's security log: the centre's name in `lang`, and
    /// the operator's name.
    async fn desk_signature(
        &self,
        centre: &Centre,
        operator: &UserId,
        lang: &str,
    ) -> AppResult<String> {
        let staff = self
            .assurance
            .identity()
            .account_of(operator)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(format!(
            "{}\t{}",
            centre.def.name.get(lang, "en"),
            staff.full_name()
        ))
    }

    /// Sends the code to the phone of a citizen being registered at the desk.
    pub async fn desk_register_start(
        &self,
        operator: &UserId,
        r: DeskRegistration<'_>,
        actor: &Actor,
    ) -> AppResult<String> {
        self.identity_desk(operator).await?;
        self.assurance
            .identity()
            .desk_register_start(r.phone, r.first_name, r.last_name, r.consent, r.lang, actor)
            .await
    }

    /// The code the citizen told: their account opens; its portal ID.
    pub async fn desk_register_finish(
        &self,
        operator: &UserId,
        flow: &str,
        code: &str,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        let centre = self.identity_desk(operator).await?;
        let how = self.desk_signature(&centre, operator, &lang.tag()).await?;
        let user = self
            .assurance
            .identity()
            .desk_register_finish(flow, code, &how, actor)
            .await?;
        Ok(user.portal_id.to_string())
    }

    /// After the in-person check: a code to the new phone of a person who lost their
    /// contacts. Only for an account whose identity is checked (the operator compares the
    /// document with it), never the operator's own.
    pub async fn desk_restore_start(
        &self,
        operator: &UserId,
        user_id: &UserId,
        phone: &str,
        seen: bool,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        self.identity_desk(operator).await?;
        if user_id == operator {
            return Err(AppError::field("person", "desk-own-account"));
        }
        if !seen {
            return Err(AppError::field("restore_seen", "desk-seen-missing"));
        }
        let card = self.desk_person(operator, user_id, actor).await?;
        if !card.restorable() {
            return Err(AppError::field("phone", "desk-restore-not-checked"));
        }
        self.assurance
            .identity()
            .desk_restore_start(user_id, phone, lang, actor)
            .await
    }

    /// The code the person told: access restored to the new phone.
    pub async fn desk_restore_finish(
        &self,
        operator: &UserId,
        user_id: &UserId,
        flow: &str,
        code: &str,
        actor: &Actor,
    ) -> AppResult<Contact> {
        let centre = self.identity_desk(operator).await?;
        let person = self
            .assurance
            .identity()
            .account_of(user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let lang = person.language.clone().unwrap_or_else(|| "en".into());
        let how = self.desk_signature(&centre, operator, &lang).await?;
        self.assurance
            .identity()
            .desk_restore_finish(user_id, flow, code, &how, actor)
            .await
    }
}
