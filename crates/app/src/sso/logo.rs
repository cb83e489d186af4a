//! Departmental apps' logos. A page never loads anything from another site (`img-src 'self'`),
//! so the logo an administrator names — an address or a file — is read once, when the app is
//! added or changed, checked (PNG, JPEG or WebP, at most 100 KB), re-encoded as a small PNG
//! without any of the original's metadata, and served by the portal itself.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use super::Sso;
use crate::error::{AppError, AppResult};
use crate::security::sha256_hex;

/// The largest logo accepted, as fetched.
pub const MAX_BYTES: usize = 100 * 1024;
/// Logos are shown at 32 and 64 CSS pixels; 128 covers screens with twice the density.
const SIDE: u32 = 128;

/// A logo ready to store: PNG bytes and a short version tag for caching.
#[derive(Debug, Clone)]
pub struct Logo {
    pub png: Vec<u8>,
    pub etag: String,
}

fn refused(code: &'static str) -> AppError {
    AppError::field("logo", code)
}

/// Decodes a PNG, JPEG or WebP image within limits that stop decompression bombs, shrinks it to
/// fit `SIDE`, and encodes it again as PNG.
pub fn reencode(bytes: &[u8]) -> AppResult<Logo> {
    if bytes.len() > MAX_BYTES {
        return Err(refused("logo-too-large"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| refused("logo-format"))?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)
    ) {
        return Err(refused("logo-format"));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(4096);
    limits.max_image_height = Some(4096);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| refused("logo-format"))?;
    let image = if image.width() > SIDE || image.height() > SIDE {
        image.thumbnail(SIDE, SIDE)
    } else {
        image
    };
    let mut png = Vec::new();
    image
        .to_rgba8()
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| AppError::Internal(format!("logo encoding: {e}").into()))?;
    let etag = sha256_hex(&png)[..16].to_string();
    Ok(Logo { png, etag })
}

impl Sso {
    /// Reads a logo from an `http(s)` address or a file on this machine and prepares it.
    pub(crate) async fn fetch_logo(&self, source: &str) -> AppResult<Logo> {
        let source = source.trim();
        let bytes = match url::Url::parse(source) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => self.download_logo(u).await?,
            Ok(_) => return Err(refused("url-invalid")),
            Err(_) => {
                let meta = tokio::fs::metadata(source)
                    .await
                    .map_err(|_| refused("logo-unreachable"))?;
                if meta.len() > MAX_BYTES as u64 {
                    return Err(refused("logo-too-large"));
                }
                tokio::fs::read(source)
                    .await
                    .map_err(|_| refused("logo-unreachable"))?
            }
        };
        tokio::task::spawn_blocking(move || reencode(&bytes))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
    }

    /// The body at `url`, refused as soon as it passes `MAX_BYTES`.
    async fn download_logo(&self, url: url::Url) -> AppResult<Vec<u8>> {
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|_| refused("logo-unreachable"))?;
        if !resp.status().is_success() {
            return Err(refused("logo-unreachable"));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(refused("logo-too-large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|_| refused("logo-unreachable"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err(refused("logo-too-large"));
            }
        }
        Ok(body)
    }

    /// The portal's copy of an app's logo: PNG bytes and version.
    pub async fn client_logo(&self, client_id: &str) -> AppResult<Option<(Vec<u8>, String)>> {
        let mut conn = self.store.conn().await?;
        Ok(ekdwar_store::sso::logo(&mut conn, &ekdwar_domain::ClientId::new(client_id)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 40, 40, 255]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .to_rgb8()
            .write_to(&mut Cursor::new(&mut out), format)
            .unwrap();
        out
    }

    #[test]
    fn png_jpeg_and_webp_become_small_pngs() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let logo = reencode(&encoded(format, 300, 150)).unwrap();
            let back = image::load_from_memory(&logo.png).unwrap();
            assert_eq!((back.width(), back.height()), (128, 64), "{format:?}");
            assert_eq!(image::guess_format(&logo.png).unwrap(), ImageFormat::Png);
            assert_eq!(logo.etag.len(), 16);
        }
        // Small logos keep their size.
        let logo = reencode(&encoded(ImageFormat::Png, 40, 40)).unwrap();
        assert_eq!(image::load_from_memory(&logo.png).unwrap().width(), 40);
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        let code = |r: AppResult<Logo>| match r {
            Err(AppError::Form(list)) => list[0].code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(reencode(b"<svg xmlns='http://www.w3.org/2000/svg'/>")),
            "logo-format"
        );
        assert_eq!(code(reencode(b"GIF89a\x01\x00\x01\x00")), "logo-format");
        assert_eq!(code(reencode(&vec![0u8; MAX_BYTES + 1])), "logo-too-large");
        // A truncated PNG: the right signature, no image.
        let png = encoded(ImageFormat::Png, 64, 64);
        assert_eq!(code(reencode(&png[..40])), "logo-format");
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // A valid PNG header claiming 100 000 × 100 000 pixels.
        let mut png = encoded(ImageFormat::Png, 1, 1);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(reencode(&png).is_err());
    }
}
