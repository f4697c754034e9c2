//! Where publications go: a directory or an S3-compatible bucket, named by one string.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::ObjectStore;

/// A shared store and the prefix inside it under which the layout starts.
#[derive(Clone, Debug)]
pub struct Location {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Prefix of the layout's root inside the store (empty for a directory root).
    pub root: Path,
    /// The location as the user named it, for messages.
    pub name: String,
}

/// Why a location string was refused.
#[derive(Debug, thiserror::Error)]
#[error("shared store '{location}': {message}")]
pub struct LocationError {
    location: String,
    message: String,
}

impl Location {
    /// Parses `s3://bucket/prefix` (credentials, endpoint and region from the standard
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT`, `AWS_REGION` variables; an
    /// `http://` endpoint is allowed, for MinIO and s3s-fs on a private network), or a directory
    /// (`file:///path` or a plain path; created if missing).
    pub fn parse(location: &str) -> Result<Location, LocationError> {
        let fail = |message: String| LocationError {
            location: location.to_string(),
            message,
        };
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(fail("no bucket after s3://".into()));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            let endpoint = std::env::var("AWS_ENDPOINT").unwrap_or_default();
            if endpoint.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
            if !endpoint.is_empty() {
                // MinIO, s3s-fs and most private clouds serve buckets as paths, not host names.
                builder = builder.with_virtual_hosted_style_request(false);
            }
            if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err()
            {
                builder = builder.with_region("us-east-1");
            }
            let store = builder.build().map_err(|e| fail(e.to_string()))?;
            return Ok(Location {
                store: Arc::new(store),
                root: Path::from(prefix.trim_matches('/')),
                name: location.to_string(),
            });
        }
        if location.contains("://") && !location.starts_with("file://") {
            return Err(fail(
                "expected s3://bucket/prefix, file:///path or a directory path".into(),
            ));
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        if dir.is_empty() {
            return Err(fail("empty directory path".into()));
        }
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| fail(e.to_string()))?;
        Ok(Location {
            store: Arc::new(store),
            root: Path::default(),
            name: location.to_string(),
        })
    }

    /// The object at `relative` (a `/`-separated path of the layout) under the root.
    pub fn path(&self, relative: &str) -> Path {
        let mut p = self.root.clone();
        for part in relative.split('/').filter(|s| !s.is_empty()) {
            p = p.child(part);
        }
        p
    }

    /// `path` relative to the root, as the layout writes it.
    pub fn relative(&self, path: &Path) -> String {
        match path.prefix_match(&self.root) {
            Some(parts) => parts
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.to_string(),
        }
    }
}
