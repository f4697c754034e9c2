//! Embeds the built web console (`web/dist`) into the binary: writes `console_assets.rs`, a
//! table of every file with `include_bytes!`, so the server needs no files at run time.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../../web/dist");
    // Relative to the package, so a build cache shared by several checkouts watches this one's.
    println!("cargo:rerun-if-changed=../../web/dist");
    if !dist.join("index.html").is_file() {
        panic!(
            "the web console is not built ({} has no index.html): run `bash scripts/setup.sh` to build the console",
            dist.display()
        );
    }
    let mut list = Vec::new();
    files(&dist, &mut list);
    let mut code = String::from("/// Every file of web/dist: (path relative to it, contents).\npub static ASSETS: &[(&str, &[u8])] = &[\n");
    for path in &list {
        let rel = path.strip_prefix(&dist).expect("below dist");
        let rel = rel.to_string_lossy().replace('\\', "/");
        let abs = path.canonicalize().expect("an existing file");
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("console_assets.rs"), code).expect("writing console_assets.rs");
}
