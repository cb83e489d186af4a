//! Departmental apps (OpenID Connect clients). Secrets are generated with 256 bits of randomness
//! and stored as SHA-256 hashes: being random, not chosen by people, they need no slow hash.

use ekdwar_domain::ClientId;
use ekdwar_domain::sso::RedirectUri;
use ekdwar_domain::sso::{SigningAlg, SubjectType};
use ekdwar_store::sso::{self as store, Client};

use super::Sso;
use crate::error::{AppError, AppResult, FieldError, FormCheck};
use crate::security::{constant_time_eq, sha256_hex};
use crate::views::AppView;

/// How long a node trusts its copy of an app's record. Changes made on this node apply at once;
/// on other nodes of a cluster within this time.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Apps read on every token request, kept in memory briefly.
#[derive(Default)]
pub(crate) struct ClientCache(
    std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, Client)>>,
);

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCache")
    }
}

/// What an administrator gives for a new app.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub logo_url: Option<String>,
    pub launch_url: Option<String>,
    pub helpdesk_phone: Option<String>,
    pub helpdesk_email: Option<String>,
    pub officer: Option<String>,
    /// `pairwise` (default) or `public`.
    pub subject_type: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    /// `ES256` (default) or `RS256`.
    pub id_token_alg: Option<String>,
    /// The app's own API scopes, the only ones it may ask for with `client_credentials`.
    pub api_scopes: Vec<String>,
}

/// Changes to an app; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub logo_url: Option<String>,
    pub launch_url: Option<String>,
    pub helpdesk_phone: Option<String>,
    pub helpdesk_email: Option<String>,
    pub officer: Option<String>,
    pub subject_type: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: Option<String>,
    pub api_scopes: Option<Vec<String>>,
}

/// A created app; the secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub app: AppView,
    pub secret: Option<String>,
}

fn uris(check: &mut FormCheck, field: &'static str, list: &[String]) -> Vec<String> {
    list.iter()
        .filter_map(|u| {
            check
                .take(field, RedirectUri::parse(u))
                .map(|u| u.as_str().to_string())
        })
        .collect()
}

fn web_url(check: &mut FormCheck, field: &'static str, value: Option<&String>) -> Option<String> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Some(v.to_string()),
        _ => {
            check.push(FieldError::new(field, "url-invalid"));
            None
        }
    }
}

fn api_scopes(check: &mut FormCheck, list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .filter_map(|s| check.take("api_scope", ekdwar_domain::sso::api_scope(s)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn id_token_alg(check: &mut FormCheck, value: Option<&str>) -> SigningAlg {
    value
        .map_or(Some(SigningAlg::Es256), SigningAlg::parse)
        .unwrap_or_else(|| {
            check.push(FieldError::new("id_token_alg", "id-token-alg-invalid"));
            SigningAlg::Es256
        })
}

fn subject_type(check: &mut FormCheck, value: Option<&str>) -> SubjectType {
    value
        .map_or(Some(SubjectType::Pairwise), SubjectType::parse)
        .unwrap_or_else(|| {
            check.push(FieldError::new("subject_type", "subject-type-invalid"));
            SubjectType::Pairwise
        })
}

impl Sso {
    pub async fn add_client(&self, input: ClientInput) -> AppResult<NewClient> {
        let mut check = FormCheck::default();
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            check.push(FieldError::new("name", "client-name-invalid"));
        }
        if input.redirect_uris.is_empty() {
            check.push(FieldError::new("redirect_uri", "redirect-uri-invalid"));
        }
        let redirect_uris = uris(&mut check, "redirect_uri", &input.redirect_uris);
        let post_logout = uris(
            &mut check,
            "post_logout_redirect_uri",
            &input.post_logout_redirect_uris,
        );
        let logo_url = input
            .logo_url
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        let launch_url = web_url(&mut check, "launch_url", input.launch_url.as_ref());
        let backchannel = web_url(
            &mut check,
            "backchannel_logout_uri",
            input.backchannel_logout_uri.as_ref(),
        );
        let subject_type = subject_type(&mut check, input.subject_type.as_deref());
        let id_token_alg = id_token_alg(&mut check, input.id_token_alg.as_deref());
        let api_scopes = api_scopes(&mut check, &input.api_scopes);
        check.finish()?;
        let logo = match &logo_url {
            Some(source) => Some(self.fetch_logo(source).await?),
            None => None,
        };
        let secret = (!input.public).then(|| self.random.token(32));
        let now = self.clock.now();
        let client = Client {
            id: ClientId::new(self.random.id()),
            name,
            secret_hash: secret.as_deref().map(|s| sha256_hex(s.as_bytes())),
            redirect_uris,
            post_logout_redirect_uris: post_logout,
            is_public: input.public,
            logo_url,
            logo_etag: logo.as_ref().map(|l| l.etag.clone()),
            helpdesk_phone: input.helpdesk_phone.filter(|s| !s.trim().is_empty()),
            helpdesk_email: input.helpdesk_email.filter(|s| !s.trim().is_empty()),
            officer: input.officer.filter(|s| !s.trim().is_empty()),
            subject_type,
            backchannel_logout_uri: backchannel,
            launch_url,
            id_token_alg,
            api_scopes,
            enabled: true,
            created_at: now,
            updated_at: now,
        };
        self.save_client(&client, logo.as_ref()).await?;
        Ok(NewClient {
            app: AppView::from(&client),
            secret,
        })
    }

    /// An app, as its administrator sees it.
    pub async fn app(&self, id: &str) -> AppResult<Option<AppView>> {
        Ok(self.client(id).await?.as_ref().map(AppView::from))
    }

    pub(crate) async fn client(&self, id: &str) -> AppResult<Option<Client>> {
        let id = id.trim();
        if let Ok(cache) = self.client_cache.0.read()
            && let Some((at, c)) = cache.get(id)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(Some(c.clone()));
        }
        let mut conn = self.store.read().await?;
        let found = store::client(&mut conn, &ClientId::new(id)).await?;
        if let (Some(c), Ok(mut cache)) = (&found, self.client_cache.0.write()) {
            cache.insert(c.id.to_string(), (std::time::Instant::now(), c.clone()));
        }
        Ok(found)
    }

    /// Saves an app; with `logo`, its new logo in the same transaction (an app whose record
    /// has no logo version has its stored copy removed).
    async fn save_client(&self, c: &Client, logo: Option<&super::Logo>) -> AppResult<()> {
        let mut tx = self.work().await?;
        store::save_client(&mut tx, c).await?;
        match (logo, &c.logo_etag) {
            (Some(l), _) => store::save_logo(&mut tx, &c.id, &l.png, &l.etag).await?,
            (None, None) => store::remove_logo(&mut tx, &c.id).await?,
            (None, Some(_)) => {}
        }
        tx.commit().await?;
        if let Ok(mut cache) = self.client_cache.0.write() {
            cache.remove(c.id.as_str());
        }
        Ok(())
    }

    pub async fn clients(&self, enabled_only: bool) -> AppResult<Vec<AppView>> {
        let mut conn = self.store.read().await?;
        Ok(store::clients(&mut conn, enabled_only)
            .await?
            .iter()
            .map(AppView::from)
            .collect())
    }

    /// The helpdesk directory: enabled apps whose name, officer, phone or e-mail contains `q`.
    pub async fn helpdesk(&self, q: &str) -> AppResult<Vec<AppView>> {
        let q = q.trim().to_lowercase();
        Ok(self
            .clients(true)
            .await?
            .into_iter()
            .filter(|a| {
                q.is_empty()
                    || [
                        Some(&a.name),
                        a.officer.as_ref(),
                        a.helpdesk_phone.as_ref(),
                        a.helpdesk_email.as_ref(),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .collect())
    }

    pub async fn update_client(&self, id: &str, patch: ClientPatch) -> AppResult<AppView> {
        let mut c = self.client(id).await?.ok_or(AppError::NotFound)?;
        let mut check = FormCheck::default();
        if let Some(n) = patch.name {
            c.name = n.trim().to_string();
            if c.name.is_empty() {
                check.push(FieldError::new("name", "client-name-invalid"));
            }
        }
        if let Some(list) = patch.redirect_uris {
            c.redirect_uris = uris(&mut check, "redirect_uri", &list);
        }
        if let Some(list) = patch.post_logout_redirect_uris {
            c.post_logout_redirect_uris = uris(&mut check, "post_logout_redirect_uri", &list);
        }
        // An empty logo removes it; another one is fetched again even if the address is the
        // same, so that an administrator can pick up a changed image.
        let mut logo = None;
        if let Some(source) = patch.logo_url.map(|l| l.trim().to_string()) {
            if source.is_empty() {
                c.logo_url = None;
                c.logo_etag = None;
            } else {
                let l = self.fetch_logo(&source).await?;
                c.logo_etag = Some(l.etag.clone());
                c.logo_url = Some(source);
                logo = Some(l);
            }
        }
        if patch.launch_url.is_some() {
            c.launch_url = web_url(&mut check, "launch_url", patch.launch_url.as_ref());
        }
        if patch.backchannel_logout_uri.is_some() {
            c.backchannel_logout_uri = web_url(
                &mut check,
                "backchannel_logout_uri",
                patch.backchannel_logout_uri.as_ref(),
            );
        }
        if let Some(a) = patch.id_token_alg {
            c.id_token_alg = id_token_alg(&mut check, Some(&a));
        }
        if let Some(list) = patch.api_scopes {
            c.api_scopes = api_scopes(&mut check, &list);
        }
        if let Some(t) = patch.subject_type {
            c.subject_type = subject_type(&mut check, Some(&t));
        }
        for (field, value) in [
            (&mut c.helpdesk_phone, patch.helpdesk_phone),
            (&mut c.helpdesk_email, patch.helpdesk_email),
            (&mut c.officer, patch.officer),
        ] {
            if let Some(v) = value {
                *field = (!v.trim().is_empty()).then_some(v);
            }
        }
        check.finish()?;
        c.updated_at = self.clock.now();
        self.save_client(&c, logo.as_ref()).await?;
        Ok(AppView::from(&c))
    }

    /// Enables or disables an app; a disabled app's tokens stop working at once.
    pub async fn set_client_enabled(&self, id: &str, enabled: bool) -> AppResult<AppView> {
        let mut c = self.client(id).await?.ok_or(AppError::NotFound)?;
        c.enabled = enabled;
        c.updated_at = self.clock.now();
        self.save_client(&c, None).await?;
        Ok(AppView::from(&c))
    }

    /// Issues a new secret for a confidential app; the old one stops working.
    pub async fn rotate_client_secret(&self, id: &str) -> AppResult<String> {
        let mut c = self.client(id).await?.ok_or(AppError::NotFound)?;
        if c.is_public {
            return Err(AppError::field("client", "client-public-no-secret"));
        }
        let secret = self.random.token(32);
        c.secret_hash = Some(sha256_hex(secret.as_bytes()));
        c.updated_at = self.clock.now();
        self.save_client(&c, None).await?;
        Ok(secret)
    }

    /// The enabled app with this id, if the secret (absent for public apps) is right.
    pub async fn authenticate_client(&self, id: &str, secret: Option<&str>) -> Option<Client> {
        let c = self.client(id).await.ok()??;
        if !c.enabled {
            return None;
        }
        match (&c.secret_hash, secret) {
            (None, None) if c.is_public => Some(c),
            (Some(hash), Some(s))
                if constant_time_eq(sha256_hex(s.as_bytes()).as_bytes(), hash.as_bytes()) =>
            {
                Some(c)
            }
            _ => None,
        }
    }
}
