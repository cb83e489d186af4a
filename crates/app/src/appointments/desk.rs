//! The identity desk of a centre that offers identity confirmation: its operator finds a
//! citizen, sees their checked profile beside the document in front of them, and confirms
//! them to the verified level. Operators of other centres (or of none) find no desk; every
//! look-up and confirmation is audited with the centre.

use std::sync::Arc;

use ekdwar_domain::UserId;
use ekdwar_domain::appointments::{Capability, Centre};

use super::Appointments;
use crate::assurance::PersonCard;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};

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
}
