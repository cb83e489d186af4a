//! Documents' bytes in an object store (local files by default, an S3-compatible bucket at
//! scale), sealed before they leave the process and opened as they stream back.
//!
//! A sealed object is `EKL1` and then the file in 64 KiB chunks, each sealed with AES-256-GCM
//! under the document's own key. A chunk's nonce is the object's stream number (the file, its
//! thumbnail) and the chunk's counter; its associated data names the document and says whether
//! it is the last chunk. So chunks cannot be reordered, moved between documents or dropped from
//! the end without the opening failing. Neither direction holds more than a chunk or two (and,
//! towards S3, one part of the upload) in memory.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::config::S3Config;
use crate::error::{AppError, AppResult};

/// Plain bytes per sealed chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 4] = b"EKL1";

/// Which of a document's objects a stream is: each has nonces of its own under the one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The file itself.
    File = 0,
    /// An image's thumbnail.
    Thumbnail = 1,
}

/// A document's key and the context its chunks are bound to.
pub struct DocKey {
    key: LessSafeKey,
    context: String,
    stream: Part,
}

impl DocKey {
    /// The key `secret` (32 bytes) for the stream `stream` of the document `context`.
    pub fn new(secret: &[u8], context: &str, stream: Part) -> AppResult<Self> {
        let key = UnboundKey::new(&AES_256_GCM, secret)
            .map(LessSafeKey::new)
            .map_err(|_| AppError::Internal("a document key is not 32 bytes".into()))?;
        Ok(Self {
            key,
            context: context.to_string(),
            stream,
        })
    }

    fn nonce(&self, counter: u64) -> Nonce {
        let mut n = [0u8; NONCE_LEN];
        n[0] = self.stream as u8;
        n[4..].copy_from_slice(&counter.to_be_bytes());
        Nonce::assume_unique_for_key(n)
    }

    fn aad(&self, last: bool) -> Vec<u8> {
        let mut a = self.context.as_bytes().to_vec();
        a.extend_from_slice(if last { b"\0last" } else { b"\0more" });
        a
    }

    fn seal(&self, counter: u64, last: bool, plain: &[u8]) -> AppResult<Vec<u8>> {
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(self.nonce(counter), Aad::from(self.aad(last)), &mut buf)
            .map_err(|_| AppError::Internal("sealing a chunk failed".into()))?;
        Ok(buf)
    }

    fn open(&self, counter: u64, last: bool, sealed: &[u8]) -> Option<Vec<u8>> {
        let mut buf = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(self.nonce(counter), Aad::from(self.aad(last)), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Where documents' sealed bytes are kept.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Bytes buffered before a part is sent: S3 takes no part under 5 MiB but the last.
    part: usize,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

fn storage_error(e: object_store::Error) -> AppError {
    let no_space = match &e {
        object_store::Error::Generic { source, .. } => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
            let mut found = false;
            while let Some(c) = cause {
                if c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
                {
                    found = true;
                }
                cause = c.source();
            }
            found
        }
        _ => false,
    };
    if no_space {
        AppError::Unavailable(
            ekdwar_store::Unavailable::NoSpace,
            ekdwar_store::StoreError::OutOfSpace(e.to_string()),
        )
    } else {
        AppError::Internal(Box::new(e))
    }
}

impl Blobs {
    /// Local files under `dir` (made if missing).
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            store: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?),
            part: 4 * CHUNK,
        })
    }

    /// An S3-compatible bucket.
    pub fn s3(c: &S3Config) -> anyhow::Result<Self> {
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(c.secret_access_key.expose())
            .with_allow_http(c.allow_http);
        if let Some(e) = &c.endpoint {
            b = b.with_endpoint(e);
        }
        Ok(Self {
            store: Arc::new(b.build()?),
            part: 5 * 1024 * 1024,
        })
    }

    /// Begins writing a sealed object at `key`.
    pub async fn writer(&self, key: &str, doc: DocKey) -> AppResult<SealedWriter> {
        let upload = self
            .store
            .put_multipart(&Path::from(key))
            .await
            .map_err(storage_error)?;
        let mut out = WriteMultipart::new_with_chunk_size(upload, self.part);
        out.write(MAGIC);
        Ok(SealedWriter {
            out,
            doc,
            pending: BytesMut::with_capacity(CHUNK * 2),
            counter: 0,
        })
    }

    /// Writes `plain` whole, sealed, at `key` (a thumbnail).
    pub async fn put(&self, key: &str, doc: DocKey, plain: &[u8]) -> AppResult<()> {
        let mut w = self.writer(key, doc).await?;
        w.write(plain).await?;
        w.finish().await
    }

    /// The plain bytes of the sealed object at `key`, as a stream. A chunk that does not open
    /// (a damaged or tampered object) ends the stream with an error.
    pub async fn open(
        &self,
        key: &str,
        doc: DocKey,
    ) -> AppResult<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static> {
        let got = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(storage_error)?;
        let state = Opening {
            inner: got.into_stream(),
            doc,
            buf: BytesMut::new(),
            counter: 0,
            started: false,
            done: false,
        };
        Ok(futures_util::stream::unfold(state, Opening::next))
    }

    /// The whole plain content of the object at `key` (a thumbnail, an image to shrink).
    pub async fn read_all(&self, key: &str, doc: DocKey, limit: usize) -> AppResult<Vec<u8>> {
        let mut s = Box::pin(self.open(key, doc).await?);
        let mut all = Vec::new();
        while let Some(chunk) = s.next().await {
            let chunk = chunk.map_err(|e| AppError::Internal(Box::new(e)))?;
            if all.len() + chunk.len() > limit {
                return Err(AppError::Internal("object larger than expected".into()));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }

    /// Removes the object at `key`; one already gone is no error.
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(e)),
        }
    }
}

/// An object being written: plain bytes in, sealed chunks out.
pub struct SealedWriter {
    out: WriteMultipart,
    doc: DocKey,
    pending: BytesMut,
    counter: u64,
}

impl SealedWriter {
    /// Adds plain bytes. A full chunk is sealed only once more bytes follow it, so the last
    /// one is known when it is sealed.
    pub async fn write(&mut self, plain: &[u8]) -> AppResult<()> {
        self.pending.extend_from_slice(plain);
        while self.pending.len() > CHUNK {
            let chunk = self.pending.split_to(CHUNK);
            let sealed = self.doc.seal(self.counter, false, &chunk)?;
            self.counter += 1;
            self.out.wait_for_capacity(2).await.map_err(storage_error)?;
            self.out.write(&sealed);
        }
        Ok(())
    }

    /// Seals the last chunk and completes the object.
    pub async fn finish(mut self) -> AppResult<()> {
        let sealed = self.doc.seal(self.counter, true, &self.pending)?;
        self.out.write(&sealed);
        self.out.finish().await.map_err(storage_error)?;
        Ok(())
    }

    /// Gives up: nothing is left at the key (or the sweep removes what is).
    pub async fn abort(self) {
        if let Err(e) = self.out.abort().await {
            tracing::warn!(error = %e, "aborting an upload to the object store failed");
        }
    }
}

struct Opening {
    inner: futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
    doc: DocKey,
    buf: BytesMut,
    counter: u64,
    started: bool,
    done: bool,
}

fn damaged() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "a stored document does not open (damaged or altered)",
    )
}

impl Opening {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if self.done {
            return None;
        }
        loop {
            // A chunk is known not to be the last once a byte beyond it has arrived.
            let header = if self.started { 0 } else { MAGIC.len() };
            if self.buf.len() > header + CHUNK + TAG {
                if !self.started {
                    if &self.buf[..MAGIC.len()] != MAGIC {
                        self.done = true;
                        return Some((Err(damaged()), self));
                    }
                    let _ = self.buf.split_to(MAGIC.len());
                    self.started = true;
                }
                let sealed = self.buf.split_to(CHUNK + TAG);
                let Some(plain) = self.doc.open(self.counter, false, &sealed) else {
                    self.done = true;
                    return Some((Err(damaged()), self));
                };
                self.counter += 1;
                return Some((Ok(Bytes::from(plain)), self));
            }
            match self.inner.next().await {
                Some(Ok(b)) => self.buf.extend_from_slice(&b),
                Some(Err(e)) => {
                    self.done = true;
                    return Some((Err(std::io::Error::other(e)), self));
                }
                None => {
                    self.done = true;
                    if !self.started {
                        if self.buf.len() < MAGIC.len() || &self.buf[..MAGIC.len()] != MAGIC {
                            return Some((Err(damaged()), self));
                        }
                        let _ = self.buf.split_to(MAGIC.len());
                    }
                    let sealed = std::mem::take(&mut self.buf);
                    return match self.doc.open(self.counter, true, &sealed) {
                        Some(plain) => Some((Ok(Bytes::from(plain)), self)),
                        None => Some((Err(damaged()), self)),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(stream: Part) -> DocKey {
        DocKey::new(&[9u8; 32], "doc-1", stream).unwrap()
    }

    async fn round_trip(len: usize) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut w = blobs.writer("a/b", key(Part::File)).await.unwrap();
        for part in plain.chunks(10_000) {
            w.write(part).await.unwrap();
        }
        w.finish().await.unwrap();
        let raw = std::fs::read(dir.path().join("a/b")).unwrap();
        if len >= 32 {
            assert!(!raw.windows(32).any(|w| w == &plain[..32]), "sealed");
        }
        let back = blobs
            .read_all("a/b", key(Part::File), len + 1)
            .await
            .unwrap();
        assert_eq!(back, plain, "{len} bytes");
        // The thumbnail's stream does not open the file's chunks.
        assert!(
            blobs
                .read_all("a/b", key(Part::Thumbnail), len + 1)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn sealed_objects_open_back_at_every_size() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            round_trip(len).await;
        }
    }

    #[tokio::test]
    async fn a_cut_or_altered_object_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let plain = vec![7u8; 2 * CHUNK + 5];
        blobs.put("x", key(Part::File), &plain).await.unwrap();
        let path = dir.path().join("x");
        let whole = std::fs::read(&path).unwrap();
        // The last chunk dropped: the one before it is not marked last.
        std::fs::write(&path, &whole[..MAGIC.len() + 2 * (CHUNK + TAG)]).unwrap();
        assert!(blobs.read_all("x", key(Part::File), 1 << 20).await.is_err());
        // One byte changed.
        let mut bent = whole.clone();
        bent[MAGIC.len() + 10] ^= 1;
        std::fs::write(&path, &bent).unwrap();
        assert!(blobs.read_all("x", key(Part::File), 1 << 20).await.is_err());
        // Another document's context.
        std::fs::write(&path, &whole).unwrap();
        let other = DocKey::new(&[9u8; 32], "doc-2", Part::File).unwrap();
        assert!(blobs.read_all("x", other, 1 << 20).await.is_err());
        assert_eq!(
            blobs.read_all("x", key(Part::File), 1 << 20).await.unwrap(),
            plain
        );
        blobs.delete("x").await.unwrap();
        blobs.delete("x").await.unwrap();
    }
}
