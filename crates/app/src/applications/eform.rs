//! The offline e-form: the XML template, its schema, and turning an uploaded one into a draft
//! the applicant reviews and submits, checked page by page exactly as typed answers are.

use std::collections::BTreeMap;
use std::sync::Arc;

use ekdwar_domain::ApplicationId;
use ekdwar_domain::catalog::answers::{Answer, Typed};
use ekdwar_domain::catalog::{DeliveryKind, Form, Service, eform};
use ekdwar_store::applications as store;

use super::{Applications, Next};
use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::views::AccountView;

/// An e-form read into a draft.
#[derive(Debug)]
pub struct Imported {
    /// The draft.
    pub id: ApplicationId,
    /// Where the applicant goes on from.
    pub next: Next,
    /// How many pages were filled from the file.
    pub pages_filled: usize,
    /// Answers the file gave that were not accepted, to fix on their pages.
    pub problems: Vec<Problem>,
}

/// An answer in the e-form that the form's rules refused.
#[derive(Debug)]
pub struct Problem {
    /// The page that asks it.
    pub page: String,
    /// What is wrong (the same message as typing it would give).
    pub error: FieldError,
    /// What the file said, so nothing written is lost from sight.
    pub value: String,
}

fn written(t: Option<&Typed>) -> String {
    match t {
        None | Some(Typed::Missing) => String::new(),
        Some(Typed::One(v)) => v.clone(),
        Some(Typed::Many(v)) => v.join(", "),
        Some(Typed::Items(items)) => items
            .iter()
            .map(|i| i.values().cloned().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn typed(a: &Answer) -> Typed {
    match a {
        Answer::One(v) => Typed::One(v.clone()),
        Answer::Many(v) => Typed::Many(v.clone()),
        Answer::Items(v) => Typed::Items(v.clone()),
    }
}

impl Applications {
    /// The current version of an online service with a form.
    pub fn eform_service(&self, code: &str) -> AppResult<(i64, Arc<Service>)> {
        let snapshot = self.catalog.snapshot();
        let (version, service) = snapshot.service(code).ok_or(AppError::NotFound)?;
        if service.delivery.kind != DeliveryKind::Online || service.form.is_none() {
            return Err(AppError::NotFound);
        }
        Ok((version, service.clone()))
    }

    fn eform_form(service: &Service) -> AppResult<&Form> {
        service.form.as_ref().ok_or(AppError::NotFound)
    }

    /// The empty e-form of a service, its labels in `lang`.
    pub fn eform_template(&self, code: &str, lang: &Lang) -> AppResult<String> {
        let (version, service) = self.eform_service(code)?;
        Ok(eform::template(
            code,
            version,
            Self::eform_form(&service)?,
            &lang.tag(),
        ))
    }

    /// The XML Schema of a service's e-form.
    pub fn eform_schema(&self, code: &str) -> AppResult<String> {
        let (version, service) = self.eform_service(code)?;
        Ok(eform::schema(code, version, Self::eform_form(&service)?))
    }

    /// Reads an uploaded e-form into a draft: the applicant's open draft for the service if
    /// there is one, else a new one. Each page is saved through the same checks as typing it;
    /// a page with refused answers is left for the applicant, and the refusals come back with
    /// what the file said. A service that allows one open application, which is past its
    /// draft, answers with that application instead.
    pub async fn import_eform(
        &self,
        account: &AccountView,
        code: &str,
        bytes: &[u8],
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Result<Imported, ApplicationId>> {
        let (_, service) = self.eform_service(code)?;
        let form = Self::eform_form(&service)?;
        let uploaded = eform::read(code, form, bytes).map_err(|e| {
            let detail = match &e {
                eform::EformError::Malformed(line) => line.to_string(),
                eform::EformError::OtherService(s) | eform::EformError::Unknown(s) => s.clone(),
                _ => String::new(),
            };
            AppError::Form(vec![
                FieldError::new("file", e.code()).arg("detail", detail),
            ])
        })?;
        let id = match self.start(account, code, actor).await? {
            Ok(id) => id,
            Err(open) if self.get(&account.id, &open).await?.is_draft() => open,
            Err(open) => return Ok(Err(open)),
        };
        let mut problems = Vec::new();
        let mut pages_filled = 0;
        for page in &form.pages {
            if !page.fields.iter().any(|f| uploaded.contains_key(&f.id)) {
                continue;
            }
            let loaded = self.get(&account.id, &id).await?;
            // A page an earlier answer rules out is not asked.
            if self.page(&loaded, &page.id).is_none() {
                continue;
            }
            // What the file leaves out keeps what the draft has (the profile's prefill).
            let values: BTreeMap<String, Typed> = page
                .fields
                .iter()
                .filter_map(|f| {
                    uploaded
                        .get(&f.id)
                        .cloned()
                        .or_else(|| loaded.answers.get(&f.id).map(typed))
                        .map(|v| (f.id.clone(), v))
                })
                .collect();
            match self
                .save_page(&account.id, &id, &page.id, &values, lang)
                .await
            {
                Ok(_) => pages_filled += 1,
                Err(AppError::Form(errors)) => {
                    // The page's other answers are kept: only the refused ones wait.
                    let fine: Vec<String> = page
                        .fields
                        .iter()
                        .map(|f| f.id.clone())
                        .filter(|f| !errors.iter().any(|e| e.field == f.as_str()))
                        .collect();
                    if !fine.is_empty()
                        && let Ok(accepted) =
                            self.check_answers(&loaded, page, &values, Some(&fine), lang)
                    {
                        let mut all = loaded.answers.clone();
                        all.extend(accepted);
                        let json = serde_json::to_string(&all).map_err(super::internal)?;
                        let mut work = self.work().await?;
                        store::save_draft(&mut work, &id, &account.id, &json, self.clock.now())
                            .await?;
                        work.commit().await?;
                    }
                    problems.extend(errors.into_iter().map(|error| Problem {
                        page: page.id.clone(),
                        value: written(values.get(error.field.as_ref())),
                        error,
                    }))
                }
                Err(e) => return Err(e),
            }
        }
        let loaded = self.get(&account.id, &id).await?;
        let next = match problems.first() {
            Some(p) => Next::Page(p.page.clone()),
            None => self.resume(&loaded),
        };
        Ok(Ok(Imported {
            id,
            next,
            pages_filled,
            problems,
        }))
    }
}
