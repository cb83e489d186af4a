//! Static assets, embedded in the binary. Each is served under a name carrying a hash of its
//! content (`app.3f2a9c01d4.css`) with a year of immutable caching, so a new release is picked
//! up at once and an unchanged file is never fetched twice; the plain name also works, with a
//! validator and a short lifetime.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// `name` with the content hash before the extension.
    hashed: String,
    etag: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "app.css",
            "text/css; charset=utf-8",
            include_bytes!("../static/app.css").as_slice(),
        ),
        (
            "app.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../static/app.js").as_slice(),
        ),
        (
            "favicon.svg",
            "image/svg+xml",
            include_bytes!("../static/favicon.svg").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| {
        let hash = hex::encode(&Sha256::digest(body)[..5]);
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        Asset {
            name,
            content_type,
            body,
            hashed: format!("{stem}.{hash}.{ext}"),
            etag: format!("\"{hash}\""),
        }
    })
    .collect()
});

/// The address of an asset, to put in pages.
pub fn url(name: &str) -> String {
    ASSETS.iter().find(|a| a.name == name).map_or_else(
        || format!("/static/{name}"),
        |a| format!("/static/{}", a.hashed),
    )
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((asset, immutable)) = ASSETS.iter().find_map(|a| {
        if a.hashed == file {
            Some((a, true))
        } else if a.name == file {
            Some((a, false))
        } else {
            None
        }
    }) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, etag.clone());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    (h, asset.body).into_response()
}

/// Browsers ask for `/favicon.ico` whatever the page says.
pub async fn favicon() -> Response {
    Redirect::permanent(&url("favicon.svg")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_change_with_the_content() {
        let css = url("app.css");
        assert!(css.starts_with("/static/app.") && css.ends_with(".css") && css.len() > 20);
        assert_ne!(url("app.js"), "/static/app.js");
        assert_eq!(url("missing.txt"), "/static/missing.txt");
    }
}
