//! Publishing a node's store to a directory and mirroring it: the layout, the checksums, the
//! registry table, idempotence, compaction's replaced files, repair of a damaged copy, and a
//! corrupted source refused.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use serde_json::Value;
use sha2::{Digest, Sha256};
use shulv_ingest::{Instant, Reading};
use shulv_model::RegistryFile;
use shulv_platform::{IngestOptions, Platform, PlatformConfig};
use shulv_region::mirror::mirror;
use shulv_region::publish::publish;
use shulv_region::Location;

/// 2025-03-01T00:00:00+08:00
const T0: i64 = 1_740_758_400_000;
const QUARTER: i64 = 900_000;

fn platform(dir: &Path) -> Platform {
    let p = Platform::open(PlatformConfig::new(dir)).unwrap();
    p.apply_registry(
        RegistryFile::from_toml(
            "[[node]]\nid = \"park\"\nname = \"园区\"\nkind = \"park\"\nattributes = { region_code = \"330106\" }\n\
             [[node]]\nid = \"e1\"\nname = \"企业一\"\nkind = \"enterprise\"\nparent = \"park\"\nindustry = \"C26\"\n\
             [[node]]\nid = \"ws\"\nname = \"车间\"\nkind = \"workshop\"\nparent = \"e1\"\n\
             [[meter]]\nid = \"e1.main\"\nname = \"总表\"\nnode = \"e1\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n\
             [[meter]]\nid = \"ws.el\"\nname = \"车间表\"\nnode = \"ws\"\ncarrier = \"electricity\"\nunit = \"Wh\"\nreading = \"interval\"\n",
        )
        .unwrap(),
    )
    .unwrap();
    p
}

fn ingest(p: &Platform, days: std::ops::Range<i64>) {
    let readings = (days.start * 96..days.end * 96)
        .flat_map(|q| {
            let ts = Instant::Utc(T0 + q * QUARTER);
            [
                Reading {
                    line: 1,
                    meter: Cow::Borrowed("e1.main"),
                    ts,
                    value: (q % 400) as f64 / 100.0 + 10.0,
                    unit: None,
                },
                Reading {
                    line: 2,
                    meter: Cow::Borrowed("ws.el"),
                    ts,
                    value: (q % 90) as f64 * 10.0,
                    unit: None,
                },
            ]
        })
        .collect();
    let options = IngestOptions {
        atomic: true,
        received_at: T0 + 400 * 86_400_000,
    };
    p.ingest(readings, Vec::new(), options).unwrap();
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn current(root: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(root.join("node=park-1/_manifest/current.json")).unwrap())
        .unwrap()
}

/// Every data file under the node's folder, relative to the root.
fn data_files(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.join("node=park-1")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                if rel.contains("/kind=") {
                    out.insert(rel);
                }
            }
        }
    }
    out
}

/// The files the manifest lists, each checked against its size and SHA-256.
fn checked_files(root: &Path, manifest: &Value) -> BTreeSet<String> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = root.join(f["path"].as_str().unwrap());
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                f["bytes"].as_u64().unwrap()
            );
            assert_eq!(
                sha256(&path),
                f["sha256"].as_str().unwrap(),
                "{}",
                path.display()
            );
            f["path"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn publish_is_incremental_idempotent_and_follows_compaction() {
    let tmp = tempfile::tempdir().unwrap();
    let p = platform(&tmp.path().join("data"));
    ingest(&p, 0..20);
    let shared = tmp.path().join("shared");
    let to = Location::parse(shared.to_str().unwrap()).unwrap();

    let first = publish(&p, "park-1", &to).await.unwrap();
    assert!(first.changed && first.seq == 1 && first.uploaded == first.files);
    // Interval meters store their quantity series only: 2 meters × 20 days of quarter hours.
    assert_eq!(first.points, 2 * 20 * 96);
    let manifest = current(&shared);
    assert_eq!(manifest["format"], "shulv-publication/1");
    assert_eq!(checked_files(&shared, &manifest), data_files(&shared));
    assert!(manifest["files"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("node=park-1/kind=month/month=2025-02/"));

    // The registry table: one row per series (quantity and raw reading of each meter), with what a regional job groups by.
    let table = shared.join(manifest["registry"]["path"].as_str().unwrap());
    let reader = SerializedFileReader::new(std::fs::File::open(&table).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 4);
    let columns: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(
        columns,
        [
            "series",
            "meter",
            "role",
            "node",
            "node_path",
            "enterprise",
            "industry",
            "region_code",
            "carrier",
            "additive",
            "unit",
            "canonical_unit",
            "to_canonical",
            "reading",
            "timezone"
        ]
    );
    let ws_quantity = reader
        .get_row_iter(None)
        .unwrap()
        .map(Result::unwrap)
        .find(|r| r.get_string(1).unwrap() == "ws.el" && r.get_string(2).unwrap() == "quantity")
        .unwrap();
    assert_eq!(ws_quantity.get_string(4).unwrap(), "/park/e1/ws");
    assert_eq!(ws_quantity.get_string(5).unwrap(), "e1");
    assert_eq!(ws_quantity.get_string(6).unwrap(), "C26");
    assert_eq!(ws_quantity.get_string(7).unwrap(), "330106");
    assert_eq!(ws_quantity.get_string(10).unwrap(), "Wh");
    assert_eq!(ws_quantity.get_string(11).unwrap(), "kWh");
    assert_eq!(ws_quantity.get_double(12).unwrap(), 0.001);
    assert_eq!(ws_quantity.get_string(14).unwrap(), "Asia/Shanghai");

    // Again with nothing new: nothing written.
    let again = publish(&p, "park-1", &to).await.unwrap();
    assert!(!again.changed && again.seq == 1 && again.uploaded == 0 && again.deleted == 0);

    // More data, then compaction merges files: the replaced ones disappear from the store.
    ingest(&p, 20..40);
    let second = publish(&p, "park-1", &to).await.unwrap();
    assert!(second.changed && second.seq == 2 && second.uploaded < second.files);
    p.store().compact().unwrap();
    let third = publish(&p, "park-1", &to).await.unwrap();
    assert!(third.seq == 3 && third.deleted > 0, "{third:?}");
    assert_eq!(third.points, 2 * 40 * 96);
    let manifest = current(&shared);
    assert_eq!(checked_files(&shared, &manifest), data_files(&shared));
    // The registry did not change: publications 2 and 3 keep pointing at the first snapshot.
    assert_eq!(
        manifest["registry"]["path"],
        "node=park-1/_registry/0000000001.parquet"
    );
    assert!(shared
        .join("node=park-1/_manifest/0000000002.json")
        .is_file());

    // A file lost at the shared store (or a publication cut short) is uploaded again.
    let lost = manifest["files"][0]["path"].as_str().unwrap().to_string();
    std::fs::remove_file(shared.join(&lost)).unwrap();
    let repaired = publish(&p, "park-1", &to).await.unwrap();
    assert!(!repaired.changed && repaired.uploaded == 1);
    assert_eq!(
        checked_files(&shared, &current(&shared)),
        data_files(&shared)
    );

    // Mirror to another directory: everything once, then nothing.
    let copy = tmp.path().join("copy");
    let into = Location::parse(copy.to_str().unwrap()).unwrap();
    let done = mirror(&to, &into, &[]).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        done[0].copied,
        manifest["files"].as_array().unwrap().len() + 2
    );
    assert_eq!(checked_files(&copy, &current(&copy)), data_files(&copy));
    assert_eq!(mirror(&to, &into, &[]).await.unwrap()[0].copied, 0);

    // A source file altered in place (same size) is refused, and not copied.
    std::fs::remove_file(copy.join(&lost)).unwrap();
    let mut bytes = std::fs::read(shared.join(&lost)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(shared.join(&lost), bytes).unwrap();
    let err = mirror(&to, &into, &[]).await.unwrap_err().to_string();
    assert!(
        err.contains(&lost) && err.contains("the manifest says"),
        "{err}"
    );
    assert!(!copy.join(&lost).exists());
}
