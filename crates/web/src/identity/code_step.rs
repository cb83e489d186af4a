//! The step every flow that proves a contact shares: type the code we sent by SMS (or follow
//! the e-mail's link), ask for it again, and see what went wrong. Registration, recovery and a
//! change of contact are three [`CodeStep`]s; Aadhaar, payment and share-consent codes will be
//! more. The use-cases behind it are generic too (`verify_code`, `resend`, `flow_info` by
//! purpose).

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::{FlowInfo, Purpose};
use ekdwar_domain::Channel;
use serde::Deserialize;

use super::{form_errors, with_errors};
use crate::ctx::Ctx;
use crate::ctx::render;
use crate::error::{Errors, WebError};

/// The page asking for the code.
#[derive(Template)]
#[template(path = "verify.html")]
pub(crate) struct VerifyPage<'a> {
    pub c: &'a Ctx,
    pub errors: Errors,
    pub title: &'a str,
    pub lead: String,
    pub action: &'a str,
    pub resend_action: &'a str,
    pub restart: &'a str,
    /// E-mail: a link was sent, there is no code to type.
    pub link_only: bool,
}

/// What a person types on the code page.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// The value of a flow's cookie (empty when there is none: the use-case then says the flow
/// expired).
pub(crate) fn flow_cookie(jar: &CookieJar, name: &str) -> String {
    jar.get(name)
        .map(|c| c.value().to_string())
        .unwrap_or_default()
}

/// One flow's code step: where its pages are and how they speak.
pub(crate) struct CodeStep {
    pub purpose: Purpose,
    /// The cookie holding the flow's id.
    pub cookie: &'static str,
    pub action: &'static str,
    pub resend_action: &'static str,
    /// Where to start again.
    pub restart: &'static str,
    /// Where a verified flow goes next (none: verifying completes the flow, and its own
    /// handler does what follows).
    pub then: Option<&'static str>,
    /// The title when the code went by SMS.
    pub sms_title: &'static str,
    /// A lead that names neither the contact nor the channel, for flows where either would
    /// tell whether an account exists.
    pub discreet_lead: Option<&'static str>,
}

pub(crate) const REGISTER: CodeStep = CodeStep {
    purpose: Purpose::Register,
    cookie: "ekdwar_flow_register",
    action: "/register/verify",
    resend_action: "/register/resend",
    restart: "/register",
    then: Some("/register/password"),
    sms_title: "verify-title",
    discreet_lead: None,
};

pub(crate) const RECOVER: CodeStep = CodeStep {
    purpose: Purpose::Recover,
    cookie: "ekdwar_flow_recover",
    action: "/recover/verify",
    resend_action: "/recover/resend",
    restart: "/recover",
    then: Some("/recover/password"),
    sms_title: "recover-verify-title",
    discreet_lead: Some("recover-verify-lead"),
};

pub(crate) const CONTACT: CodeStep = CodeStep {
    purpose: Purpose::Contact,
    cookie: "ekdwar_flow_contact",
    action: "/account/contact/verify",
    resend_action: "/account/contact/resend",
    restart: "/account#contact",
    then: None,
    sms_title: "contact-verify-title",
    discreet_lead: None,
};

impl CodeStep {
    /// The flow this browser is in.
    pub fn flow(&self, jar: &CookieJar) -> String {
        flow_cookie(jar, self.cookie)
    }

    /// The code page; `info` says where the code went (a discreet step shows none of it, and
    /// may have none to give).
    pub fn page<'a>(&self, c: &'a Ctx, errors: Errors, info: Option<&FlowInfo>) -> VerifyPage<'a> {
        let told = info.filter(|_| self.discreet_lead.is_none());
        let email = told.is_some_and(|i| i.channel == Channel::Email);
        let masked = told.map_or("•••", |i| i.masked_contact.as_str());
        let lead = match self.discreet_lead {
            Some(lead) => c.t(lead),
            None if email => c.ta("verify-lead-email", "contact", masked),
            None => c.ta("verify-lead-sms", "contact", crate::ctx::unbroken(masked)),
        };
        VerifyPage {
            c,
            errors,
            title: if email {
                "verify-title-email"
            } else {
                self.sms_title
            },
            lead,
            action: self.action,
            resend_action: self.resend_action,
            restart: self.restart,
            link_only: email,
        }
    }

    /// The code page again, with what went wrong.
    pub async fn retry(
        &self,
        app: &App,
        c: &Ctx,
        flow: &str,
        e: AppError,
    ) -> Result<Response, WebError> {
        let errors = form_errors(c, e, "code")?;
        // A discreet step shows nothing of the flow, so nothing is looked up (an expired flow
        // gets the same page).
        let info = match self.discreet_lead {
            Some(_) => None,
            None => Some(app.identity.flow_info(flow, self.purpose).await?),
        };
        Ok(with_errors(
            render(&self.page(c, errors.clone(), info.as_ref())),
            &errors,
        ))
    }

    /// `GET` of the code page: a flow already verified goes on to its next page.
    pub async fn show(&self, app: &App, c: &Ctx, jar: &CookieJar) -> Result<Response, WebError> {
        let info = app
            .identity
            .flow_info(&self.flow(jar), self.purpose)
            .await?;
        if info.verified
            && let Some(next) = self.then
        {
            return Ok(Redirect::to(next).into_response());
        }
        Ok(render(&self.page(c, Errors::default(), Some(&info))))
    }

    /// `POST` of the code, for a step with a next page.
    pub async fn submit(
        &self,
        app: &App,
        c: &Ctx,
        jar: &CookieJar,
        code: &str,
    ) -> Result<Response, WebError> {
        let flow = self.flow(jar);
        match app.identity.verify_code(&flow, self.purpose, code).await {
            Ok(_) => Ok(Redirect::to(self.then.unwrap_or("/")).into_response()),
            Err(e) => self.retry(app, c, &flow, e).await,
        }
    }

    /// Sends the code again (after its cool-down).
    pub async fn resend(&self, app: &App, c: &Ctx, jar: &CookieJar) -> Result<Response, WebError> {
        let flow = self.flow(jar);
        match app
            .identity
            .resend(&flow, self.purpose, &c.lang, &c.actor)
            .await
        {
            Ok(()) => Ok(
                Redirect::to(&format!("{}?notice=notice-code-resent", self.action)).into_response(),
            ),
            Err(e) => self.retry(app, c, &flow, e).await,
        }
    }
}
