//! Fuzzes the registry TOML (`POST /api/v1/registry`, `shulv registry file.toml`) and, with
//! the same bytes, the registry JSON of the same route and the `toml` deserialisation of the
//! server's config file shape (`shulv serve --config`, a private struct in
//! crates/cli/src/serve.rs copied here: keep the two in step).
//!
//! Invariants beyond "no panic": a parsed file serialises (`to_toml` never panics); a file
//! that validates (`Tree::new`) round-trips through TOML unchanged, merges into an empty tree
//! to the same registry, and merging it again into its own tree changes nothing.
#![no_main]

use std::net::SocketAddr;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use shulv_model::{RegistryFile, Tree};

/// Same shape as `FileConfig` in crates/cli/src/serve.rs.
#[allow(dead_code)]
#[derive(serde::Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    raw_retention_days: Option<u64>,
    flush_interval_s: Option<u64>,
    memtable_max_points: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    rate_per_s: Option<f64>,
    rate_burst: Option<f64>,
    session_ttl_hours: Option<u64>,
    request_timeout_s: Option<u64>,
    trust_forwarded_for: Option<bool>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = toml::from_str::<FileConfig>(text);
    if let Ok(file) = serde_json::from_str::<RegistryFile>(text) {
        let _ = Tree::new(file);
    }
    let Ok(file) = RegistryFile::from_toml(text) else {
        return;
    };
    let _ = file.to_toml();
    let Ok(tree) = Tree::new(file.clone()) else {
        return;
    };
    let back = RegistryFile::from_toml(&tree.to_file().to_toml()).expect("re-read own TOML");
    assert_eq!(back, file, "TOML round trip changed the registry");
    let mut merged = Tree::default();
    merged.merge(file.clone()).expect("a valid file merges into an empty tree");
    assert_eq!(merged.to_file(), file);
    let mut again = tree.clone();
    let s = again.merge(file.clone()).expect("a valid file merges into itself");
    assert!(s.nodes_added.is_empty() && s.nodes_updated.is_empty());
    assert!(s.meters_added.is_empty() && s.meters_updated.is_empty());
    for m in tree.meters() {
        assert!(tree.node(&m.node).is_some());
        assert!(tree.subtree_meters(&m.node).iter().any(|x| x.id == m.id));
        let _ = tree.timezone_of_meter(&m.id);
    }
    for n in tree.nodes() {
        assert!(tree.ancestors(&n.id).len() < tree.nodes().len(), "ancestor loop");
    }
});
