//! Embeds the built web console (`web/dist`) into the binary: writes `console_assets.rs`, a
//! table of every file with `include_bytes!`, so the server needs no files at run time.
//!
//! Without a built console (a fresh clone where `scripts/setup.sh` has not run, or a machine
//! without npm) the crate still builds: it embeds a one-page placeholder that says how to build
//! the console, and cargo prints a warning. The API is unaffected.

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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let dist = if dist.join("index.html").is_file() {
        dist
    } else {
        println!(
            "cargo:warning=the web console is not built ({} has no index.html); embedding a placeholder page. Run `bash scripts/setup.sh` to build the console.",
            dist.display()
        );
        placeholder(&out)
    };
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
    std::fs::write(out.join("console_assets.rs"), code).expect("writing console_assets.rs");
}

/// Writes a placeholder console (one `index.html`) under `out` and returns its directory.
fn placeholder(out: &Path) -> PathBuf {
    let dir = out.join("console-placeholder");
    std::fs::create_dir_all(&dir).expect("creating the placeholder directory");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>shulv</title>\n\
         <p>The web console was not built into this binary. Run <code>bash scripts/setup.sh</code> \
         (it needs npm) and rebuild. The HTTP API works without it: see <a href=\"/openapi.json\">/openapi.json</a>.</p>\n",
    )
    .expect("writing the placeholder page");
    dir
}
