//! Single sign-on (OpenID Connect) rules: redirect URIs, scopes, PKCE, prompts, levels as `acr`.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{AccountLevel, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
/// A single sign-on value that is not acceptable.
pub enum SsoError {
    #[error(
        "redirect URI must be an absolute https URL (http only for localhost) without a fragment"
    )]
    /// An unacceptable redirect URI.
    RedirectUri,
    #[error("PKCE code verifier must be 43–128 unreserved characters")]
    /// An unacceptable PKCE code verifier.
    Verifier,
    #[error("code challenge must be 43 base64url characters (S256)")]
    /// An unacceptable PKCE code challenge.
    Challenge,
    #[error("an API scope is 1–64 visible ASCII characters, not a person's data scope")]
    /// An unacceptable API scope.
    ApiScope,
}

impl ErrorCode for SsoError {
    fn code(&self) -> &'static str {
        match self {
            Self::RedirectUri => "redirect-uri-invalid",
            Self::Verifier => "pkce-verifier-invalid",
            Self::Challenge => "pkce-challenge-invalid",
            Self::ApiScope => "api-scope-invalid",
        }
    }
}

/// A registered redirect URI. Compared by exact string match, as OAuth 2.0 Security BCP asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Parses a redirect URI an administrator registers.
    pub fn parse(input: &str) -> Result<Self, SsoError> {
        let s = input.trim();
        let url = url::Url::parse(s).map_err(|_| SsoError::RedirectUri)?;
        if url.fragment().is_some() || s.len() > 2000 {
            return Err(SsoError::RedirectUri);
        }
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        let ok = match url.scheme() {
            "https" => url.host_str().is_some(),
            "http" => local,
            // Private-use schemes of native apps (RFC 8252), reverse domain names.
            scheme => scheme.contains('.'),
        };
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(SsoError::RedirectUri)
        }
    }

    /// Re-creates a URI read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a Content-Security-Policy must name for a browser to be sent here: the origin
    /// (`https://app.example.in`), or the scheme (`in.gov.app:`) of a native app's private-use
    /// URI. Never a wildcard.
    pub fn csp_source(&self) -> Option<String> {
        let url = url::Url::parse(&self.0).ok()?;
        match url.origin() {
            url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
            url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
        }
    }
}

/// Scopes the portal understands; others in a request are ignored (RFC 6749 §3.3).
pub const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "portal",
    "offline_access",
];

crate::string_enum!(
    /// What an app's token is.
    pub enum TokenKind {
        /// An access token.
        Access => "access",
        /// A refresh token.
        Refresh => "refresh",
    }
);

crate::string_enum!(
    /// The subject identifier an app sees: pairwise (a different one per app, the default, so
    /// that departments cannot join their records on it) or the account's own.
    pub enum SubjectType {
        /// A different subject for every app, so apps cannot link their users.
        Pairwise => "pairwise",
        /// The account's own id, the same for every app.
        Public => "public",
    }
);

crate::string_enum!(
    /// How ID tokens and logout tokens are signed.
    pub enum SigningAlg {
        /// ECDSA P-256 with SHA-256, the default.
        Es256 => "ES256",
        /// RSA PKCS#1 v1.5 with SHA-256, for apps that cannot verify ES256.
        Rs256 => "RS256",
    }
);

/// A set of known scopes, kept in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<&'static str>);

impl Scopes {
    /// The known scopes in a space-separated `scope` parameter; others are dropped.
    pub fn parse(input: &str) -> Self {
        Self(
            input
                .split_ascii_whitespace()
                .filter_map(|s| KNOWN_SCOPES.iter().find(|k| **k == s).copied())
                .collect(),
        )
    }
    /// Whether the set holds `s`.
    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }
    /// True if every scope here is also in `other`.
    pub fn within(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }
    /// The scopes of both sets.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).copied().collect())
    }
    /// The scopes in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }
    /// Whether no scope is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The scopes space-separated, as OAuth writes them.
    pub fn to_string_list(&self) -> String {
        self.0.iter().copied().collect::<Vec<_>>().join(" ")
    }
}

/// An app's own API scope (for `client_credentials`): RFC 6749's scope-token characters, at
/// most 64 of them, and none of the scopes of a person's data.
pub fn api_scope(s: &str) -> Result<String, SsoError> {
    let s = s.trim();
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        && !KNOWN_SCOPES.contains(&s);
    ok.then(|| s.to_string()).ok_or(SsoError::ApiScope)
}

/// PKCE S256: the challenge a verifier must hash to.
pub fn pkce_s256(verifier: &str) -> Result<String, SsoError> {
    let ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !ok {
        return Err(SsoError::Verifier);
    }
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
}

/// Checks the shape of an S256 challenge sent with an authorization request.
pub fn check_challenge(challenge: &str) -> Result<(), SsoError> {
    if challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(SsoError::Challenge)
    }
}

/// The `prompt` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: the app wants no page shown.
    pub none: bool,
    /// `login`: the person must log in again.
    pub login: bool,
    /// `consent`: the consent page must be shown again.
    pub consent: bool,
}

impl Prompt {
    /// `None` when `none` is combined with another value, which the spec forbids.
    pub fn parse(input: &str) -> Option<Self> {
        let mut p = Prompt::default();
        for v in input.split_ascii_whitespace() {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                _ => {}
            }
        }
        (!(p.none && (p.login || p.consent))).then_some(p)
    }
}

/// The `acr` value for an account level.
pub fn acr_of(level: AccountLevel) -> String {
    format!("urn:ekdwar:loa:{}", level.as_str())
}

/// The lowest level named in `acr_values` (space-separated, in preference order), if any names
/// a level we know. A client asking for any of them is satisfied by the lowest.
pub fn required_level(acr_values: &str) -> Option<AccountLevel> {
    acr_values
        .split_ascii_whitespace()
        .filter_map(|v| {
            v.strip_prefix("urn:ekdwar:loa:")
                .and_then(AccountLevel::parse)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.gov.in/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb?x=1",
            "in.gov.app:/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/cb",
            "http://app.gov.in/cb",
            "https://app.gov.in/cb#x",
            "javascript:alert(1)",
            "ftp//x",
        ] {
            assert_eq!(RedirectUri::parse(bad), Err(SsoError::RedirectUri), "{bad}");
        }
    }

    #[test]
    fn csp_sources_name_one_origin_or_a_private_scheme() {
        let src = |u: &str| RedirectUri::parse(u).unwrap().csp_source().unwrap();
        assert_eq!(src("https://app.gov.in/cb?x=1"), "https://app.gov.in");
        assert_eq!(src("http://localhost:3000/cb"), "http://localhost:3000");
        assert_eq!(src("in.gov.app:/cb"), "in.gov.app:");
    }

    #[test]
    fn pkce_matches_rfc_7636_example() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(pkce_s256("short"), Err(SsoError::Verifier));
        assert!(check_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
        assert!(check_challenge("plain").is_err());
    }

    #[test]
    fn api_scopes() {
        assert_eq!(api_scope(" records.read ").unwrap(), "records.read");
        for bad in [
            "",
            "openid",
            "email",
            "a b",
            "a\"b",
            "a\\b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(api_scope(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes_and_prompts() {
        let s = Scopes::parse("openid  email unknown profile");
        assert_eq!(s.to_string_list(), "email openid profile");
        assert!(Scopes::parse("openid").within(&s));
        assert_eq!(Prompt::parse("none login"), None);
        assert_eq!(
            Prompt::parse("login consent"),
            Some(Prompt {
                none: false,
                login: true,
                consent: true
            })
        );
    }

    #[test]
    fn levels_as_acr() {
        assert_eq!(acr_of(AccountLevel::Standard), "urn:ekdwar:loa:standard");
        assert_eq!(
            required_level("urn:ekdwar:loa:verified urn:ekdwar:loa:standard"),
            Some(AccountLevel::Standard)
        );
        assert_eq!(required_level("urn:other"), None);
    }
}
