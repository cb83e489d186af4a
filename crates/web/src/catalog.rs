//! The catalog's pages: browse by place, department and category; search; one service.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::catalog::Snapshot;
use ekdwar_domain::catalog::{DeliveryKind, Service, Texts};
use serde::Deserialize;

use crate::ctx::Ctx;
use crate::ctx::render;
use crate::error::{Errors, WebError};

/// The cookie that remembers the place a visitor chose.
pub const REGION_COOKIE: &str = "ekdwar_region";

/// The catalog's pages.
pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/services", get(browse))
        .route("/services/region", post(choose_region))
        .route("/services/{code}", get(service_page))
}

impl Ctx {
    /// A text of the catalog in the page's language.
    pub fn text<'a>(&self, t: &'a Texts) -> &'a str {
        t.get(&self.lang.tag(), "en")
    }

    /// An amount in minor units, written for the page's language (`₹1,500`).
    pub fn money(&self, amount: &u64, currency: &str) -> String {
        let amount = *amount;
        let whole = amount / 100;
        let cents = amount % 100;
        let mut digits = whole.to_string();
        // Indian grouping for rupees (1,00,000), thousands elsewhere.
        let grouped = if currency == "INR" && digits.len() > 3 {
            let last = digits.split_off(digits.len() - 3);
            let mut head = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(2) {
                    head.push(',');
                }
                head.push(ch);
            }
            format!("{head},{last}")
        } else {
            digits
        };
        let symbol = match currency {
            "INR" => "₹",
            "RUB" => "₽",
            other => other,
        };
        if cents == 0 {
            format!("{symbol}{grouped}")
        } else {
            format!("{symbol}{grouped}.{cents:02}")
        }
    }
}

/// The place the visitor chose, if the catalog knows it.
pub fn chosen_region(jar: &CookieJar, snapshot: &Snapshot) -> Option<String> {
    jar.get(REGION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|r| snapshot.entries.has_region(r))
}

/// Where a visitor who chose no place probably is: the country of the page's language when the
/// catalog has it (Russian: Russia), else the deployment's own country.
pub fn likely_region(c: &Ctx, snapshot: &Snapshot, default_region: &str) -> Option<String> {
    let by_language = match c.lang.tag().split('-').next().unwrap_or_default() {
        "hi" | "bn" => "IN",
        "ru" => "RU",
        _ => default_region,
    };
    [by_language, default_region]
        .into_iter()
        .find(|r| snapshot.entries.has_region(r))
        .map(str::to_string)
}

/// A region with its depth in the tree, for an indented list.
pub struct RegionChoice<'a> {
    pub code: &'a str,
    pub name: &'a Texts,
    pub depth: usize,
}

/// Every region, each under its parent.
fn region_choices(snapshot: &Snapshot) -> Vec<RegionChoice<'_>> {
    fn add<'a>(
        out: &mut Vec<RegionChoice<'a>>,
        all: &'a [ekdwar_domain::catalog::RegionEntry],
        parent: Option<&str>,
        depth: usize,
    ) {
        for r in all.iter().filter(|r| r.parent.as_deref() == parent) {
            out.push(RegionChoice {
                code: &r.code,
                name: &r.name,
                depth,
            });
            if depth < 8 {
                add(out, all, Some(&r.code), depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    add(&mut out, &snapshot.entries.file().regions, None, 0);
    out
}

#[derive(Deserialize, Default)]
pub struct BrowseQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    category: String,
}

#[derive(Template)]
#[template(path = "services.html")]
struct BrowsePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    snapshot: &'a Snapshot,
    regions: Vec<RegionChoice<'a>>,
    region: Option<String>,
    region_name: Option<&'a Texts>,
    query: &'a str,
    department: &'a str,
    category: &'a str,
    results: Vec<&'a Service>,
    /// Whether a search or filter narrowed the list.
    filtered: bool,
}

impl BrowsePage<'_> {
    fn is_region(&self, code: &str) -> bool {
        self.region.as_deref() == Some(code)
    }

    fn indent(&self, depth: &usize) -> String {
        "\u{a0}\u{a0}\u{a0}".repeat(*depth)
    }

    fn department_name(&self, code: &str) -> String {
        self.snapshot
            .entries
            .department(code)
            .map(|d| self.c.text(&d.name).to_string())
            .unwrap_or_default()
    }
}

async fn browse(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, WebError> {
    app.catalog.refresh().await?;
    let snapshot = app.catalog.snapshot();
    let region = chosen_region(&jar, &snapshot);
    let query: String = q.q.trim().chars().take(100).collect();
    let mut results: Vec<&Service> = if query.is_empty() {
        snapshot.offered(region.as_deref()).collect()
    } else {
        snapshot.search(&query, region.as_deref())
    };
    results.retain(|s| {
        (q.department.is_empty() || s.department == q.department)
            && (q.category.is_empty() || s.category == q.category)
    });
    let region_name = region
        .as_deref()
        .and_then(|r| snapshot.entries.region(r))
        .map(|e| &e.name);
    Ok(render(&BrowsePage {
        c: &c,
        errors: Errors::default(),
        snapshot: &snapshot,
        regions: region_choices(&snapshot),
        region: region.clone(),
        region_name,
        query: &query,
        department: &q.department,
        category: &q.category,
        filtered: !query.is_empty() || !q.department.is_empty() || !q.category.is_empty(),
        results,
    }))
}

#[derive(Deserialize)]
pub struct RegionForm {
    #[serde(default)]
    region: String,
    #[serde(default)]
    back: String,
}

/// Remembers the chosen place in a cookie ("everywhere" forgets it).
async fn choose_region(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<RegionForm>,
) -> Response {
    let snapshot = app.catalog.snapshot();
    let back = crate::ctx::local_path(&f.back)
        .unwrap_or("/services")
        .to_string();
    let jar = if snapshot.entries.has_region(&f.region) {
        jar.add(c.cookie(REGION_COOKIE, f.region, Some(365 * 86_400)))
    } else {
        jar.add(c.removal(REGION_COOKIE))
    };
    (jar, Redirect::to(&back)).into_response()
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    snapshot: &'a Snapshot,
    service: &'a Service,
    department: Option<&'a ekdwar_domain::catalog::DepartmentEntry>,
    /// Whether it is offered where the visitor said they are.
    offered_here: bool,
    region_name: Option<&'a Texts>,
}

impl ServicePage<'_> {
    fn level_key(&self) -> String {
        format!("level-{}", self.service.min_level)
    }

    fn online(&self) -> bool {
        self.service.delivery.kind == DeliveryKind::Online
    }

    fn in_app(&self) -> bool {
        self.service.delivery.kind == DeliveryKind::App
    }

    fn region_names(&self) -> Vec<String> {
        self.service
            .regions
            .iter()
            .filter_map(|r| self.snapshot.entries.region(r))
            .map(|e| self.c.text(&e.name).to_string())
            .collect()
    }

    fn category_name(&self) -> String {
        self.snapshot
            .entries
            .category(&self.service.category)
            .map(|d| self.c.text(&d.name).to_string())
            .unwrap_or_default()
    }
}

async fn service_page(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    app.catalog.refresh().await?;
    let snapshot = app.catalog.snapshot();
    let Some((_, service)) = snapshot.service(&code) else {
        return Err(WebError(ekdwar_app::error::AppError::NotFound));
    };
    let region = chosen_region(&jar, &snapshot);
    let region_name = region
        .as_deref()
        .and_then(|r| snapshot.entries.region(r))
        .map(|e| &e.name);
    Ok(render(&ServicePage {
        c: &c,
        errors: Errors::default(),
        department: snapshot.entries.department(&service.department),
        offered_here: service.offered_in(&snapshot.entries, region.as_deref()),
        region_name,
        snapshot: &snapshot,
        service,
    }))
}

/// The popular services offered anywhere within a guessed place (a country's own and its
/// states' and cities'), for a home page whose visitor chose no place.
pub fn popular_within<'a>(snapshot: &'a Snapshot, region: &'a str) -> Vec<&'a Service> {
    snapshot
        .offered(None)
        .filter(|s| s.popular)
        .filter(|s| {
            s.offered_in(&snapshot.entries, Some(region))
                || s.regions.iter().any(|r| snapshot.entries.within(r, region))
        })
        .collect()
}

/// The popular services offered where the visitor is, for the home page.
pub fn popular<'a>(snapshot: &'a Snapshot, region: Option<&'a str>) -> Vec<&'a Service> {
    snapshot.offered(region).filter(|s| s.popular).collect()
}

#[cfg(test)]
mod tests {
    use ekdwar_domain::catalog::Texts;

    #[test]
    fn rupees_are_grouped_the_indian_way() {
        let c = crate::ctx::Ctx {
            lang: ekdwar_app::i18n::Lang::english(),
            csrf: String::new(),
            user: None,
            actor: ekdwar_app::audit::Actor::command_line(),
            path: "/".into(),
            notice: None,
            secure: false,
            time_zone: jiff::tz::TimeZone::UTC,
            phone_examples: String::new(),
        };
        assert_eq!(c.money(&150_000, "INR"), "₹1,500");
        assert_eq!(c.money(&10_000_000, "INR"), "₹1,00,000");
        assert_eq!(c.money(&4_000, "INR"), "₹40");
        assert_eq!(c.money(&12_345, "INR"), "₹123.45");
        assert_eq!(c.money(&150_000, "RUB"), "₽1500");
        let t = Texts([("en".to_string(), "Passport".to_string())].into());
        assert_eq!(c.text(&t), "Passport");
    }
}
