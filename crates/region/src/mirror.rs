//! Copying the current publications of a shared store into another (an S3 bucket into a local
//! directory that a Spark without an S3 connector can read, or the reverse), by the manifests:
//! only files the destination lacks are copied, each checked against its SHA-256, the manifest
//! is written last and files it no longer lists are deleted. Running it again copies nothing.

use futures_util::StreamExt;

use crate::layout;
use crate::transfer;
use crate::{Location, RegionError};

/// What [`mirror`] did for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorReport {
    /// The publishing node.
    pub node: String,
    /// Its publication now at the destination.
    pub seq: u64,
    /// Files copied now.
    pub copied: usize,
    /// Their bytes.
    pub copied_bytes: u64,
    /// Files deleted at the destination.
    pub deleted: usize,
}

/// The nodes that published to `at` (folders `node=<name>` with a current manifest).
pub async fn published_nodes(at: &Location) -> Result<Vec<String>, RegionError> {
    let listing = at.store.list_with_delimiter(Some(&at.root)).await?;
    let mut nodes: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| {
            p.filename()
                .and_then(|f| f.strip_prefix("node="))
                .map(String::from)
        })
        .collect();
    nodes.sort();
    let mut out = Vec::new();
    for node in nodes {
        if transfer::get_bytes(at, &layout::current_path(&node))
            .await?
            .is_some()
        {
            out.push(node);
        }
    }
    Ok(out)
}

/// Mirrors the current publication of each of `nodes` (every published node if empty) from
/// `from` to `to`.
pub async fn mirror(
    from: &Location,
    to: &Location,
    nodes: &[String],
) -> Result<Vec<MirrorReport>, RegionError> {
    let nodes = if nodes.is_empty() {
        published_nodes(from).await?
    } else {
        nodes.to_vec()
    };
    let mut reports = Vec::new();
    for node in nodes {
        let Some(manifest) = transfer::read_current(from, &node).await? else {
            return Err(RegionError::invalid(
                format!("{}/{}", from.name, layout::current_path(&node)),
                "no publication of this node",
            ));
        };
        let present = transfer::list_sizes(to, &layout::node_dir(&node)).await?;
        let mut wanted: Vec<(&str, u64, &str)> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes, f.sha256.as_str()))
            .collect();
        let r = &manifest.registry;
        wanted.push((&r.path, r.bytes, &r.sha256));
        wanted.push((&r.json, r.json_bytes, &r.json_sha256));
        let (mut copied, mut copied_bytes) = (0, 0);
        let mut copies = futures_util::stream::iter(
            wanted
                .into_iter()
                .filter(|(path, bytes, _)| present.get(*path) != Some(bytes))
                .map(|(path, bytes, sha)| async move {
                    transfer::copy_checked(from, to, path, bytes, sha)
                        .await
                        .map(|()| bytes)
                }),
        )
        .buffer_unordered(4);
        while let Some(done) = copies.next().await {
            copied_bytes += done?;
            copied += 1;
        }
        transfer::write_manifest(to, &manifest).await?;
        let deleted = transfer::prune(to, &manifest).await?;
        reports.push(MirrorReport {
            node,
            seq: manifest.seq,
            copied,
            copied_bytes,
            deleted,
        });
    }
    Ok(reports)
}
