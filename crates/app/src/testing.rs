//! In-process test doubles for the ports to the world outside the process: an SMS gateway and
//! a mail server that record what they are given (and can be told to fail), and an OpenID
//! Connect provider. They stand in for the real parties in fast tests; the interop tests still
//! run the real protocols against real processes (an SMTP server, an HTTP gateway,
//! oidc-provider).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::identity::UpstreamClient;
use crate::notify::{Mail, MailGateway, PortFuture, Sms, SmsGateway};

/// What the fake gateway was handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Sms(Sms),
    Mail(Mail),
}

impl Delivered {
    /// The recipient: a phone number in E.164 or an e-mail address.
    pub fn to(&self) -> &str {
        match self {
            Self::Sms(s) => &s.to,
            Self::Mail(m) => &m.to,
        }
    }

    /// The text a person reads.
    pub fn text(&self) -> &str {
        match self {
            Self::Sms(s) => &s.text,
            Self::Mail(m) => &m.body,
        }
    }
}

/// An SMS gateway and mail server in one: accepts everything, unless told to refuse the
/// next few messages (each refusal is an error the portal retries).
#[derive(Debug, Default)]
pub struct FakeGateway {
    delivered: Mutex<Vec<Delivered>>,
    refuse: AtomicUsize,
    refused: AtomicUsize,
}

impl FakeGateway {
    /// Refuses the next `n` messages.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    /// Everything accepted, oldest first.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// How many messages were refused.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    fn take(&self, d: Delivered) -> Result<(), String> {
        let refuse = self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refuse {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err("the fake gateway refused the message".into());
        }
        if let Ok(mut list) = self.delivered.lock() {
            list.push(d);
        }
        Ok(())
    }
}

impl SmsGateway for FakeGateway {
    fn send<'a>(&'a self, sms: &'a Sms) -> PortFuture<'a, Result<(), String>> {
        Box::pin(async move { self.take(Delivered::Sms(sms.clone())) })
    }
}

impl MailGateway for FakeGateway {
    fn send<'a>(&'a self, mail: &'a Mail) -> PortFuture<'a, Result<(), String>> {
        Box::pin(async move { self.take(Delivered::Mail(mail.clone())) })
    }
}

/// An OpenID Connect provider in the process: it answers discovery, checks the client's
/// credentials, the redirect URI and the PKCE verifier at its token endpoint, and issues ID
/// tokens with the claims a test chose for the person who "logs in" there.
#[derive(Debug)]
pub struct FakeProvider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    grants: Mutex<HashMap<String, Grant>>,
    next: AtomicUsize,
}

#[derive(Debug, Clone)]
struct Grant {
    claims: Value,
    challenge: String,
    redirect_uri: String,
}

impl FakeProvider {
    pub fn new(issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            grants: Mutex::default(),
            next: AtomicUsize::new(1),
        }
    }

    /// The person with `claims` (at least `sub`) logs in at the provider's authorization
    /// endpoint `authorize_url` (where the portal sent the browser): returns the callback URL
    /// the provider sends the browser back to, with a code and the state.
    pub fn log_in(&self, authorize_url: &str, claims: Value) -> Result<String, String> {
        let url = url::Url::parse(authorize_url).map_err(|e| e.to_string())?;
        if !authorize_url.starts_with(&format!("{}/authorize", self.issuer)) {
            return Err(format!("not this provider's endpoint: {authorize_url}"));
        }
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.get(k).cloned().ok_or(format!("no {k}"));
        if get("client_id")? != self.client_id || get("response_type")? != "code" {
            return Err("wrong client or response type".into());
        }
        if get("code_challenge_method")? != "S256" {
            return Err("PKCE S256 is required".into());
        }
        let code = format!("code-{}", self.next.fetch_add(1, Ordering::SeqCst));
        let mut claims = claims;
        claims["nonce"] = json!(get("nonce")?);
        let redirect_uri = get("redirect_uri")?;
        if let Ok(mut g) = self.grants.lock() {
            g.insert(
                code.clone(),
                Grant {
                    claims,
                    challenge: get("code_challenge")?,
                    redirect_uri: redirect_uri.clone(),
                },
            );
        }
        let mut back = url::Url::parse(&redirect_uri).map_err(|e| e.to_string())?;
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &get("state")?)
            .append_pair("iss", &self.issuer);
        Ok(back.to_string())
    }

    fn token(&self, basic: (&str, &str), form: &[(&str, &str)]) -> Value {
        let field = |k: &str| form.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let error = |e: &str| json!({ "error": e });
        if basic != (self.client_id.as_str(), self.client_secret.as_str()) {
            return error("invalid_client");
        }
        let grant = field("code").and_then(|c| self.grants.lock().ok()?.remove(c));
        let Some(g) = grant else {
            return error("invalid_grant");
        };
        let verified = field("code_verifier")
            .and_then(|v| ekdwar_domain::sso::pkce_s256(v).ok())
            .is_some_and(|c| c == g.challenge);
        if !verified || field("redirect_uri") != Some(g.redirect_uri.as_str()) {
            return error("invalid_grant");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut claims = g.claims.clone();
        claims["iss"] = json!(self.issuer);
        claims["aud"] = json!(self.client_id);
        claims["iat"] = json!(now);
        claims["exp"] = json!(now + 300);
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "typ": "JWT" }).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.client_secret.as_bytes());
        let sig = ring::hmac::sign(&key, format!("{header}.{body}").as_bytes());
        json!({
            "access_token": format!("at-{}", claims["sub"].as_str().unwrap_or_default()),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())),
        })
    }
}

impl UpstreamClient for FakeProvider {
    fn get_json<'a>(
        &'a self,
        url: &'a str,
        _bearer: Option<&'a str>,
    ) -> PortFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            if url == format!("{}/.well-known/openid-configuration", self.issuer) {
                Ok(json!({
                    "issuer": self.issuer,
                    "authorization_endpoint": format!("{}/authorize", self.issuer),
                    "token_endpoint": format!("{}/token", self.issuer),
                    "response_types_supported": ["code"],
                }))
            } else {
                Err(format!("404 {url}"))
            }
        })
    }

    fn post_form<'a>(
        &'a self,
        url: &'a str,
        basic: (&'a str, &'a str),
        form: &'a [(&'a str, &'a str)],
    ) -> PortFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            if url == format!("{}/token", self.issuer) {
                Ok(self.token(basic, form))
            } else {
                Err(format!("404 {url}"))
            }
        })
    }
}
