//! The published layout (`shulv-publication/1`): where each file of a node goes, and the
//! manifest that lists one publication. The contract with the Spark jobs; see
//! `crates/region/LAYOUT.md`.

use serde::{Deserialize, Serialize};

/// Value of [`Manifest::format`].
pub const FORMAT: &str = "shulv-publication/1";

/// One publication of one node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The publishing node (instance name).
    pub node: String,
    /// Publication number of this node, from 1.
    pub seq: u64,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
    /// Version of the store's raw file format of the files.
    pub store_format: u32,
    /// The registry snapshot.
    pub registry: RegistryEntry,
    /// Every data file of the node's store at the time of the publication.
    pub files: Vec<FileEntry>,
}

/// The registry snapshot of a publication.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryEntry {
    /// The Parquet table, one row per store series.
    pub path: String,
    /// The registry document (nodes, meters) as shulv's registry JSON.
    pub json: String,
    /// Bytes of the Parquet table.
    pub bytes: u64,
    /// SHA-256 of the Parquet table.
    pub sha256: String,
    /// Bytes of the JSON document.
    pub json_bytes: u64,
    /// SHA-256 of the JSON document.
    pub json_sha256: String,
}

/// One data file of a publication.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the root.
    pub path: String,
    /// `raw`, `hour`, `day` or `month`.
    pub kind: String,
    /// The store's UTC-month partition, `YYYY-MM`.
    pub month: String,
    /// The store's segment id.
    pub segment: u64,
    /// Rows (raw points, or partial rows).
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

impl Manifest {
    /// Raw points in the publication.
    pub fn points(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.kind == "raw")
            .map(|f| f.rows)
            .sum()
    }

    /// The same data files and registry as `other` (so publishing again would change nothing).
    pub fn same_content(&self, other: &Manifest) -> bool {
        self.files == other.files
            && self.registry.sha256 == other.registry.sha256
            && self.registry.json_sha256 == other.registry.json_sha256
    }
}

/// `node=<node>`: the folder of one node.
pub fn node_dir(node: &str) -> String {
    format!("node={node}")
}

/// The path of a data file.
pub fn data_path(node: &str, kind: &str, month: &str, file_name: &str) -> String {
    format!("{}/kind={kind}/month={month}/{file_name}", node_dir(node))
}

/// The manifest of publication `seq`.
pub fn manifest_path(node: &str, seq: u64) -> String {
    format!("{}/_manifest/{seq:010}.json", node_dir(node))
}

/// The node's newest manifest.
pub fn current_path(node: &str) -> String {
    format!("{}/_manifest/current.json", node_dir(node))
}

/// The registry snapshot of publication `seq`, Parquet (`json = false`) or JSON.
pub fn registry_path(node: &str, seq: u64, json: bool) -> String {
    let ext = if json { "json" } else { "parquet" };
    format!("{}/_registry/{seq:010}.{ext}", node_dir(node))
}

/// The prefix under which a node's data files live (`node=<node>/kind=`).
pub fn data_prefix(node: &str) -> String {
    format!("{}/kind=", node_dir(node))
}

/// Checks a node name: it becomes a directory name and a Hive partition value.
pub fn check_node_name(node: &str) -> Result<(), String> {
    let ok = !node.is_empty()
        && node.len() <= 64
        && node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !node.starts_with(['.', '_']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "node name '{node}': use 1–64 ASCII letters, digits, '-', '_' or '.', not starting with '.' or '_'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_hive_layout() {
        assert_eq!(
            data_path("park-a", "raw", "2025-07", "0000000000000042.parquet"),
            "node=park-a/kind=raw/month=2025-07/0000000000000042.parquet"
        );
        assert_eq!(
            manifest_path("park-a", 12),
            "node=park-a/_manifest/0000000012.json"
        );
        assert_eq!(current_path("p"), "node=p/_manifest/current.json");
        assert_eq!(
            registry_path("p", 3, false),
            "node=p/_registry/0000000003.parquet"
        );
    }

    #[test]
    fn node_names_are_checked() {
        assert!(check_node_name("park-a").is_ok());
        assert!(check_node_name("").is_err());
        assert!(check_node_name("a/b").is_err());
        assert!(check_node_name("_x").is_err());
        assert!(check_node_name("园区").is_err());
    }
}
