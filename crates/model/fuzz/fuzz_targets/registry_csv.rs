//! Fuzzes the registry CSV files (`shulv registry nodes.csv meters.csv`): `parse_nodes_csv`
//! and `parse_meters_csv`. An input containing a line `---` is split there into nodes.csv
//! and meters.csv; otherwise both parsers read the whole input.
//!
//! Invariants beyond "no panic": an error names a line within its file; every parsed node
//! and meter has a non-empty id; a pair that validates (`Tree::new`) round-trips through
//! the registry TOML unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_model::{parse_meters_csv, parse_nodes_csv, RegistryError, RegistryFile, Tree};

fn check_line(e: &RegistryError, text: &str) {
    if let RegistryError::Csv { line, .. } = e {
        // the csv crate counts `\n` line ends; allow `\r`-only ends too
        let max = text.bytes().filter(|&b| b == b'\n' || b == b'\r').count() as u64 + 1;
        assert!(*line <= max, "error line {line} of at most {max}: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (nodes_csv, meters_csv) = match text.split_once("\n---\n") {
        Some((a, b)) => (a, b),
        None => (text, text),
    };
    let nodes = parse_nodes_csv(nodes_csv);
    let meters = parse_meters_csv(meters_csv);
    if let Err(e) = &nodes {
        check_line(e, nodes_csv);
    }
    if let Err(e) = &meters {
        check_line(e, meters_csv);
    }
    let (Ok(nodes), Ok(meters)) = (nodes, meters) else {
        return;
    };
    assert!(nodes.iter().all(|n| !n.id.is_empty() && !n.kind.is_empty()));
    assert!(meters.iter().all(|m| !m.id.is_empty() && !m.node.is_empty()));
    let file = RegistryFile { nodes, meters };
    let Ok(tree) = Tree::new(file.clone()) else {
        return;
    };
    let back = RegistryFile::from_toml(&tree.to_file().to_toml()).expect("re-read own TOML");
    assert_eq!(back, file, "CSV -> TOML round trip changed the registry");
});
