//! The levels page (each step, and how far it is) and the standard profile's form.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::assurance::{
    ItemView, LetterView, ProfileView, ReviewCase, ReviewRow, Save, mismatch_fields,
};
use ekdwar_app::captcha::Challenge;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::national_id::IdKind;
use ekdwar_domain::profile::{CheckItem, CheckStatus, ProfileFacts, ProfileInput};
use ekdwar_domain::{AccountLevel, UserId};
use serde::Deserialize;

use crate::ctx::{Ctx, Me, render};
use crate::error::{Errors, WebError};
use crate::identity::{ChallengeFields, with_errors};

struct LevelRow {
    name_key: String,
    about_key: String,
    current: bool,
    done: bool,
}

#[derive(Template)]
#[template(path = "levels.html")]
struct LevelsPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    levels: Vec<LevelRow>,
    level: AccountLevel,
    profile: ProfileView,
    /// Where identities are confirmed in person: name and address.
    centres: Vec<(String, String)>,
    /// The activation letter asked for, if any.
    letter: Option<LetterView>,
    /// Trusted identity providers: (id, name).
    providers: Vec<(String, String)>,
    /// Asked with the letter's code.
    challenge: Option<Challenge>,
}

impl LevelsPage<'_> {
    fn items(&self) -> Vec<Item> {
        items(&self.profile)
    }
}

/// One checked item as pages show it.
pub struct Item {
    pub name_key: String,
    pub status_key: &'static str,
    pub tag: &'static str,
    /// Translation keys of the fields to correct.
    pub fields: Vec<String>,
    pub reason_key: Option<String>,
    pub minutes: u64,
}

fn items(p: &ProfileView) -> Vec<Item> {
    item_rows(&p.items)
}

/// Checked items as pages show them.
pub fn item_rows(items: &[ItemView]) -> Vec<Item> {
    items
        .iter()
        .map(|i| Item {
            name_key: format!("profile-item-{}", i.item.as_str()),
            status_key: match i.status {
                None => "profile-status-new",
                Some(CheckStatus::Checking) => "profile-status-checking",
                Some(CheckStatus::Confirmed) => "profile-status-confirmed",
                Some(CheckStatus::Mismatch) => "profile-status-mismatch",
                Some(CheckStatus::Review) => "profile-status-review",
            },
            tag: match i.status {
                Some(CheckStatus::Confirmed) => "tag-ok",
                Some(CheckStatus::Mismatch) => "tag-bad",
                _ => "",
            },
            fields: i
                .fields
                .iter()
                .map(|f| format!("profile-mismatch-{f}"))
                .collect(),
            reason_key: i.reason.as_deref().map(|r| match r {
                "in-use" | "no-answer" => format!("profile-review-{r}"),
                _ => "profile-review-registry".to_string(),
            }),
            minutes: i.expected_minutes,
        })
        .collect()
}

/// What each account level means, which one the person has, and where each step stands.
pub async fn levels(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    levels_page(&app, &c, &me, Errors::default()).await
}

async fn levels_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    errors: Errors,
) -> Result<Response, WebError> {
    let mine = me.account.level;
    let profile = app.assurance.profile(me, None).await?;
    let levels = std::iter::successors(Some(AccountLevel::Simplified), |l| l.next())
        .map(|l| LevelRow {
            name_key: format!("level-{}", l.as_str()),
            about_key: format!("level-about-{}", l.as_str()),
            current: l == mine,
            done: l < mine,
        })
        .collect();
    let standard = mine == AccountLevel::Standard;
    let centres = if standard {
        app.appointments
            .identity_centres()
            .await?
            .iter()
            .map(|x| {
                (
                    c.text(&x.def.name).to_string(),
                    c.text(&x.def.address).to_string(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let letter = if standard {
        app.assurance.letter(me.user_id()).await?
    } else {
        None
    };
    let challenge = letter
        .as_ref()
        .filter(|l| l.sent_at.is_some())
        .map(|_| app.identity.new_challenge());
    let providers = if standard {
        app.assurance.trusted_providers()
    } else {
        Vec::new()
    };
    let resp = render(&LevelsPage {
        c,
        errors: errors.clone(),
        levels,
        level: mine,
        profile,
        centres,
        letter,
        providers,
        challenge,
    });
    Ok(with_errors(resp, &errors))
}

/// Where a person returns from a trusted provider: verified, or the levels page saying why
/// not.
pub(crate) async fn after_upstream(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    done: Result<(), AppError>,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => {
            Ok(Redirect::to("/account/level?notice=notice-upstream-verified").into_response())
        }
        Err(e) => match Errors::from_app(c, &e, "provider") {
            Some(errors) => levels_page(app, c, me, errors).await,
            None => Err(WebError(e)),
        },
    }
}

async fn ask_letter(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    match app.assurance.request_letter(&me, &c.actor).await {
        Ok(()) => Ok(Redirect::to("/account/level?notice=notice-letter-asked").into_response()),
        Err(e) => match Errors::from_app(&c, &e, "letter") {
            Some(errors) => levels_page(&app, &c, &me, errors).await,
            None => Err(WebError(e)),
        },
    }
}

#[derive(Deserialize)]
struct LetterCodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    identifier: String,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

async fn letter_code(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<LetterCodeForm>,
) -> Result<Response, WebError> {
    let done = app
        .assurance
        .enter_letter_code(&me, &f.code, &f.identifier, &f.challenge.answer(), &c.actor)
        .await;
    match done {
        Ok(()) => Ok(Redirect::to("/account/level?notice=notice-letter-verified").into_response()),
        Err(e) => match Errors::from_app(&c, &e, "code") {
            Some(errors) => levels_page(&app, &c, &me, errors).await,
            None => Err(WebError(e)),
        },
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    profile: ProfileView,
    /// The form's values, as typed (or as stored).
    v: ProfileInput,
}

impl ProfilePage<'_> {
    fn items(&self) -> Vec<Item> {
        items(&self.profile)
    }
    fn id_value(&self, kind: &IdKind) -> String {
        self.v.ids.get(kind).cloned().unwrap_or_default()
    }
    fn has_series(&self) -> bool {
        self.profile
            .country
            .documents
            .iter()
            .any(|d| d.series.is_some())
    }
    fn id_required(&self, kind: &IdKind) -> bool {
        self.profile
            .country
            .identifiers
            .iter()
            .any(|r| &r.kind == kind && r.required)
    }
}

fn stored(p: &ProfileView) -> ProfileInput {
    let f = &p.facts;
    let doc = f.document.as_ref();
    let addr = f.address.as_ref();
    ProfileInput {
        middle_name: f.middle_name.clone().unwrap_or_default(),
        gender: f.gender.map(|g| g.as_str().to_string()).unwrap_or_default(),
        birth_date: f.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        birth_place: f.birth_place.clone().unwrap_or_default(),
        citizenship: f
            .citizenship
            .clone()
            .unwrap_or_else(|| p.country.citizenship.clone()),
        document_kind: doc.map(|d| d.kind.clone()).unwrap_or_default(),
        document_series: doc.and_then(|d| d.series.clone()).unwrap_or_default(),
        document_number: doc.map(|d| d.number.clone()).unwrap_or_default(),
        document_issued_on: doc
            .and_then(|d| d.issued_on)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        document_issued_by: doc.and_then(|d| d.issued_by.clone()).unwrap_or_default(),
        ids: f.ids.clone(),
        address_line: addr.map(|a| a.line.clone()).unwrap_or_default(),
        address_city: addr.map(|a| a.city.clone()).unwrap_or_default(),
        address_postcode: addr.map(|a| a.postcode.clone()).unwrap_or_default(),
    }
}

#[derive(Deserialize)]
pub struct CountryQuery {
    #[serde(default)]
    country: Option<String>,
}

pub async fn profile_form(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Query(q): Query<CountryQuery>,
) -> Result<Response, WebError> {
    let profile = app.assurance.profile(&me, q.country.as_deref()).await?;
    let v = stored(&profile);
    Ok(render(&ProfilePage {
        c: &c,
        errors: Errors::default(),
        profile,
        v,
    }))
}

/// A date from the three boxes (`D-M-YYYY`) as `YYYY-MM-DD`, or as typed if it is none.
fn iso_date(typed: &str) -> String {
    let parts: Vec<&str> = typed.split('-').map(str::trim).collect();
    if let [d, m, y] = parts[..]
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<i8>(), m.parse::<i8>(), y.parse::<i16>())
        && let Ok(date) = jiff::civil::Date::new(y, m, d)
    {
        return date.to_string();
    }
    typed.to_string()
}

pub async fn profile_submit(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = crate::dates::joined(fields);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let country = get("country");
    // Dates come from three boxes (`D-M-YYYY`); the page shows them back as typed.
    let v = ProfileInput {
        middle_name: get("middle_name"),
        gender: get("gender"),
        birth_date: iso_date(&get("birth_date")),
        birth_place: get("birth_place"),
        citizenship: get("citizenship"),
        document_kind: get("document_kind"),
        document_series: get("document_series"),
        document_number: get("document_number"),
        document_issued_on: iso_date(&get("document_issued_on")),
        document_issued_by: get("document_issued_by"),
        ids: IdKind::ALL
            .iter()
            .map(|k| (*k, get(&format!("id_{k}"))))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        address_line: get("address_line"),
        address_city: get("address_city"),
        address_postcode: get("address_postcode"),
    };
    let save = if get("action") == "later" {
        Save::Later
    } else {
        Save::Check
    };
    match app.assurance.save(&me, &country, &v, save, &c.actor).await {
        Ok(()) => Ok(Redirect::to(match save {
            Save::Later => "/account/profile?notice=notice-saved",
            Save::Check => "/account/level?notice=notice-profile-sent",
        })
        .into_response()),
        Err(e) => {
            let Some(errors) = Errors::from_app(&c, &e, "birth_date") else {
                return Err(WebError(e));
            };
            let profile = app.assurance.profile(&me, Some(&country)).await?;
            let resp = render(&ProfilePage {
                c: &c,
                errors,
                profile,
                v,
            });
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
    }
}

/// One fact of a person's profile as staff see it: a label's key and the value.
pub struct Fact {
    pub key: String,
    pub value: String,
}

/// The facts a check rests on (all of them for `None`), for a reviewer or an operator to
/// compare with the document.
pub fn facts_of(c: &Ctx, f: &ProfileFacts, item: Option<CheckItem>) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut push = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push(Fact {
                key: key.to_string(),
                value,
            });
        }
    };
    push("profile-middle-name", f.middle_name.clone());
    push(
        "profile-gender",
        f.gender
            .map(|g| c.t(&format!("profile-gender-{}", g.as_str()))),
    );
    push("profile-birth-date", f.birth_date.map(|d| d.to_string()));
    push("profile-birth-place", f.birth_place.clone());
    push("profile-citizenship", f.citizenship.clone());
    if matches!(item, None | Some(CheckItem::Document))
        && let Some(d) = &f.document
    {
        push(
            "profile-document-kind",
            Some(c.t(&format!("profile-doc-{}", d.kind))),
        );
        push("profile-document-series", d.series.clone());
        push("profile-document-number", Some(d.number.clone()));
        push(
            "profile-document-issued-on",
            d.issued_on.map(|x| x.to_string()),
        );
        push("profile-document-issued-by", d.issued_by.clone());
    }
    for (kind, number) in &f.ids {
        if item.is_none() || item == Some(CheckItem::Id(*kind)) {
            push(&format!("profile-id-{kind}"), Some(number.clone()));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    rows: Vec<ReviewRow>,
}

async fn reviews(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let rows = app.assurance.review_queue(me.user_id()).await?;
    Ok(render(&ReviewsPage {
        c: &c,
        errors: Errors::default(),
        rows,
    }))
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    subject: ReviewCase,
    facts: Vec<Fact>,
    fields: &'static [&'static str],
}

impl ReviewPage<'_> {
    fn reason_key(&self) -> String {
        match self.subject.row.reason.as_deref() {
            Some(r @ ("in-use" | "no-answer")) => format!("review-reason-{r}"),
            _ => "review-reason-registry".into(),
        }
    }
}

fn parse_item(item: &str) -> Result<CheckItem, WebError> {
    CheckItem::parse(item).ok_or(WebError(AppError::NotFound))
}

async fn review_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    user: &UserId,
    item: CheckItem,
    errors: Errors,
) -> Result<Response, WebError> {
    let case = app
        .assurance
        .review_case(me.user_id(), user, item, &c.actor)
        .await?;
    let facts = facts_of(c, &case.facts, Some(item));
    let resp = render(&ReviewPage {
        c,
        errors: errors.clone(),
        facts,
        fields: mismatch_fields(item),
        subject: case,
    });
    Ok(with_errors(resp, &errors))
}

async fn review(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((user, item)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let item = parse_item(&item)?;
    review_page(&app, &c, &me, &UserId::new(user), item, Errors::default()).await
}

async fn decide(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((user, item)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let item = parse_item(&item)?;
    let user = UserId::new(user);
    let decision = fields
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v.as_str());
    let named: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "field")
        .map(|(_, v)| v.clone())
        .collect();
    let result = match decision {
        Some("confirm") => {
            app.assurance
                .decide_review(me.user_id(), &user, item, true, &[], &c.actor)
                .await
        }
        Some("mismatch") => {
            app.assurance
                .decide_review(me.user_id(), &user, item, false, &named, &c.actor)
                .await
        }
        _ => Err(AppError::field("decision", "review-decision-missing")),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/staff/reviews?notice=notice-review-decided").into_response()),
        Err(e) => match Errors::from_app(&c, &e, "decision") {
            Some(errors) => review_page(&app, &c, &me, &user, item, errors).await,
            None => Err(WebError(e)),
        },
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/account/level", get(levels))
        .route("/account/level/letter", post(ask_letter))
        .route("/account/level/letter/code", post(letter_code))
        .route("/account/profile", get(profile_form).post(profile_submit))
        .route("/staff/reviews", get(reviews))
        .route("/staff/reviews/{user}/{item}", get(review).post(decide))
}
