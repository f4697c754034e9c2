//! Region mode end to end, with the real `shulv` binary, a real S3-compatible server (s3s-fs,
//! from crates.io) and Apache Spark (pyspark, `local[2]`):
//!
//! * a region node with the tree province → city → county → park-a, park-b;
//! * park A publishes to a directory, park B to an S3 bucket; both forward their enterprises'
//!   15-minute totals to the region;
//! * park A is killed (SIGKILL) and restarted halfway through its data;
//! * the region's monthly totals of every enterprise and carrier equal the park's, and so do
//!   those of the Spark job over the published files (B's mirrored from S3 first).
//!
//! `bash scripts/setup.sh --tests` installs s3s-fs and Spark (pyspark, Java 17).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{free_port, temp_dir, wait_for, Guard, Server};
use serde_json::Value;

const QUARTER: i64 = 900_000;
/// 2026-10-01T00:00+08:00, the first local month of the data.
const OCT_1: i64 = 1_790_784_000_000;
/// Local months October and November 2026: 61 days.
const DAYS: i64 = 61;
const MONTHS: [(&str, i64, i64); 2] = [
    ("2026-10", OCT_1, OCT_1 + 31 * 86_400_000),
    ("2026-11", OCT_1 + 31 * 86_400_000, OCT_1 + 61 * 86_400_000),
];
const JAVA_HOME: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

fn s3s_fs() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let installed = home.join(".cache/shulv-tools/bin/s3s-fs");
    installed.is_file().then_some(installed)
}

fn spark_ready() -> bool {
    Path::new(JAVA_HOME).is_dir()
        && Command::new("python3")
            .args(["-c", "import pyspark"])
            .status()
            .is_ok_and(|s| s.success())
}

/// Park registries: each park has its own enterprises under its root.
fn park_registry(park: &str, enterprises: &[&str]) -> String {
    let mut s = format!(
        "[[node]]\nid = \"{park}\"\nname = \"{park}\"\nkind = \"park\"\nattributes = {{ region_code = \"330106\" }}\n"
    );
    for (i, e) in enterprises.iter().enumerate() {
        s.push_str(&format!(
            "[[node]]\nid = \"{e}\"\nname = \"企业 {e}\"\nkind = \"enterprise\"\nparent = \"{park}\"\nindustry = \"C26\"\n\
             [[node]]\nid = \"{e}-ws\"\nname = \"车间\"\nkind = \"workshop\"\nparent = \"{e}\"\n\
             [[meter]]\nid = \"{e}-main\"\nname = \"总表\"\nnode = \"{e}\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n\
             [[meter]]\nid = \"{e}-ws-el\"\nname = \"车间电表\"\nnode = \"{e}-ws\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n"
        ));
        if i == 0 {
            s.push_str(&format!(
                "[[meter]]\nid = \"{e}-gas\"\nname = \"燃气表\"\nnode = \"{e}\"\ncarrier = \"natural_gas\"\nunit = \"m3\"\nreading = \"cumulative\"\n"
            ));
        }
    }
    s
}

/// Line protocol for `meters` over quarters `[from, to)` of day indices: a daily load shape
/// in 0.01 kWh, a gas register in 0.001 m³.
fn readings(enterprises: &[&str], days: std::ops::Range<i64>) -> String {
    let mut out = String::new();
    for (k, e) in enterprises.iter().enumerate() {
        for q in days.start * 96..days.end * 96 {
            let ts = OCT_1 + q * QUARTER;
            let hour = (q % 96) / 4;
            let shape = if (8..20).contains(&hour) { 3 } else { 1 };
            let main = (q * 37 + k as i64 * 11) % 500 * shape + 1_000;
            let ws = (q * 53 + k as i64 * 7) % 300 * shape + 250;
            out.push_str(&format!(
                "{e}-main value={}.{:02} {ts}\n",
                main / 100,
                main % 100
            ));
            out.push_str(&format!(
                "{e}-ws-el value={}.{:02} {ts}\n",
                ws / 100,
                ws % 100
            ));
            if k == 0 {
                let register = 100_000 + q * 1_234 + (q * q) % 997;
                out.push_str(&format!(
                    "{e}-gas value={}.{:03} {ts}\n",
                    register / 1000,
                    register % 1000
                ));
            }
        }
    }
    out
}

fn write(server: &Server, lines: &str) {
    for chunk in lines.lines().collect::<Vec<_>>().chunks(20_000) {
        let (status, body) = server.post(
            "/api/v2/write?precision=ms",
            "text/plain",
            &chunk.join("\n"),
        );
        assert_eq!(status, 204, "{body}");
    }
}

/// Monthly totals of a node on a server: (carrier, month) → value.
fn monthly(server: &Server, node: &str) -> BTreeMap<(String, String), f64> {
    let (status, body) = server.get(&format!(
        "/api/v1/query?node={node}&from={}&to={}&bucket=month&agg=sum",
        MONTHS[0].1, MONTHS[1].2
    ));
    if status == 404 {
        return BTreeMap::new(); // not registered (yet)
    }
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let mut out = BTreeMap::new();
    for series in answer["series"].as_array().unwrap() {
        let carrier = series["carrier"].as_str().unwrap().to_string();
        for p in series["points"].as_array().unwrap() {
            let month = p["start"].as_str().unwrap()[..7].to_string();
            out.insert((carrier.clone(), month), p["value"].as_f64().unwrap());
        }
    }
    out
}

/// A value to 6 decimals, as the store's decimals can have at most 6.
fn six(v: f64) -> String {
    format!("{v:.6}")
}

fn token(server: &Server, scope: &str) -> String {
    let (status, body) = server.post(
        "/api/v1/tokens",
        "application/json",
        &format!(r#"{{"name":"park {scope}","role":"operator","scope":"{scope}"}}"#),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

fn park_config(dir: &Path, publish_to: &str, node: &str, region: &Server, token: &str) -> PathBuf {
    let path = dir.join(format!("{node}.toml"));
    std::fs::write(
        &path,
        format!(
            "[publish]\nto = \"{publish_to}\"\nnode = \"{node}\"\nevery_s = 2\n\n\
             [federate]\nregion = \"{}\"\ntoken = \"{token}\"\nattach_to = \"{node}\"\nevery_s = 1\nsettle_s = 0\nresend_hours = 2400\n",
            region.url
        ),
    )
    .unwrap();
    path
}

fn start_park(data: &Path, config: &Path, env: &[(&str, String)]) -> Server {
    // The S3 settings reach the server through its environment, as in production.
    Server::start_with_env("serve", data, &["--config", config.to_str().unwrap()], env)
}

/// Runs `shulv region job NAME --published ROOT --out OUT EXTRA…` (Spark `local[2]`).
fn region_job(name: &str, root: &Path, out: &Path, extra: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["region", "job", name, "--published"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("JAVA_HOME", JAVA_HOME)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The newest publication of a node in a directory.
fn current(root: &Path, node: &str) -> Value {
    let path = root.join(format!("node={node}/_manifest/current.json"));
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

#[test]
fn parks_publish_and_forward_and_spark_totals_equal_the_parks() {
    let s3s = s3s_fs().expect("s3s-fs is not installed: run `bash scripts/setup.sh --tests`");
    assert!(
        spark_ready(),
        "Spark (pyspark and Java 17) is not installed: run `bash scripts/setup.sh --tests`"
    );
    let tmp = temp_dir("region");
    let shared = tmp.join("shared");
    let s3_root = tmp.join("s3");
    std::fs::create_dir_all(s3_root.join("shulv")).unwrap();
    let port = free_port();
    let _s3 = Guard(
        Command::new(&s3s)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                "shulv-test",
                "--secret-key",
                "shulv-test-secret",
            ])
            .arg(&s3_root)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start s3s-fs"),
    );
    wait_for("s3s-fs", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let s3_env = [
        ("AWS_ACCESS_KEY_ID", "shulv-test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "shulv-test-secret".to_string()),
        ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("AWS_REGION", "us-east-1".to_string()),
    ];

    // The region: province → city → county → the two parks.
    let region = Server::start("serve", &tmp.join("region"), &[]);
    let (status, body) = region.post(
        "/api/v1/registry",
        "application/toml",
        "[[node]]\nid = \"zj\"\nname = \"浙江省\"\nkind = \"province\"\nattributes = { region_code = \"330000\" }\n\
         [[node]]\nid = \"hz\"\nname = \"杭州市\"\nkind = \"city\"\nparent = \"zj\"\n\
         [[node]]\nid = \"xh\"\nname = \"西湖区\"\nkind = \"county\"\nparent = \"hz\"\nattributes = { region_code = \"330106\" }\n\
         [[node]]\nid = \"park-a\"\nname = \"A 园区\"\nkind = \"park\"\nparent = \"xh\"\n\
         [[node]]\nid = \"park-b\"\nname = \"B 园区\"\nkind = \"park\"\nparent = \"xh\"\n",
    );
    assert_eq!(status, 200, "{body}");
    let (token_a, token_b) = (token(&region, "park-a"), token(&region, "park-b"));

    let a_enterprises = ["ent-a1", "ent-a2"];
    let b_enterprises = ["ent-b1"];
    let config_a = park_config(&tmp, shared.to_str().unwrap(), "park-a", &region, &token_a);
    let config_b = park_config(&tmp, "s3://shulv/region", "park-b", &region, &token_b);
    let park_a = start_park(&tmp.join("a"), &config_a, &[]);
    let park_b = start_park(&tmp.join("b"), &config_b, &s3_env);
    for (park, name, enterprises) in [
        (&park_a, "park-a", &a_enterprises[..]),
        (&park_b, "park-b", &b_enterprises[..]),
    ] {
        let (status, body) = park.post(
            "/api/v1/registry",
            "application/toml",
            &park_registry(name, enterprises),
        );
        assert_eq!(status, 200, "{body}");
    }
    write(&park_b, &readings(&b_enterprises, 0..DAYS));
    write(&park_a, &readings(&a_enterprises, 0..30));

    // Park A forwards part of October, then dies without a clean shutdown.
    wait_for(
        "park A's first totals at the region",
        Duration::from_secs(120),
        || {
            let (status, body) = region.get(&format!(
                "/api/v1/query?meter=ent-a1.electricity&from={OCT_1}&to={}&bucket=day",
                OCT_1 + 30 * 86_400_000
            ));
            status == 200
                && serde_json::from_str::<Value>(&body).unwrap()["series"][0]["points"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty())
        },
    );
    let admin_a = park_a.token.clone();
    park_a.kill();
    let park_a = Server::restart_with(
        &tmp.join("a"),
        &["--config", config_a.to_str().unwrap()],
        &admin_a,
    );
    write(&park_a, &readings(&a_enterprises, 30..DAYS));
    let written = chrono::Utc::now();

    // The region converges to every park's totals.
    let parks = [(&park_a, &a_enterprises[..]), (&park_b, &b_enterprises[..])];
    let mut expected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for (park, enterprises) in parks {
        for e in enterprises {
            for ((carrier, month), v) in monthly(park, e) {
                expected.insert((e.to_string(), carrier, month), v);
            }
        }
    }
    assert_eq!(expected.len(), 3 * 2 + 2 * 2, "{expected:?}");
    wait_for(
        "the region's totals to equal the parks'",
        Duration::from_secs(180),
        || {
            let mut at_region = BTreeMap::new();
            for e in a_enterprises.iter().chain(&b_enterprises) {
                for ((carrier, month), v) in monthly(&region, e) {
                    at_region.insert((e.to_string(), carrier, month), six(v));
                }
            }
            let want: BTreeMap<_, _> = expected.iter().map(|(k, v)| (k.clone(), six(*v))).collect();
            at_region == want
        },
    );
    let county = region.get_json(&format!(
        "/api/v1/query?node=xh&from={}&to={}&bucket=month&agg=sum&carrier=electricity",
        MONTHS[0].1, MONTHS[1].2
    ));
    assert_eq!(county["series"][0]["meters"].as_array().unwrap().len(), 3);

    // Both publications hold everything written; B's is mirrored from S3 beside A's.
    wait_for(
        "park A's publication of all its data",
        Duration::from_secs(60),
        || {
            current(&shared, "park-a")["published_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t > written + chrono::Duration::seconds(1))
        },
    );
    let shulv = env!("CARGO_BIN_EXE_shulv");
    let mirror = |expect_copies: bool| {
        let out = Command::new(shulv)
            .args(["region", "mirror", "--from", "s3://shulv/region", "--to"])
            .arg(&shared)
            .envs(s3_env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.contains("copied 0 files"), !expect_copies, "{text}");
    };
    mirror(true);
    mirror(false);
    let b_points = current(&shared, "park-b")["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "raw")
        .map(|f| f["rows"].as_u64().unwrap())
        .sum::<u64>();
    assert!(
        b_points >= (DAYS * 96 * 2) as u64,
        "park B published {b_points} points"
    );

    // Spark's monthly totals by enterprise and carrier equal the parks' answers.
    let out = tmp.join("monthly.jsonl");
    region_job("monthly_activity", &shared, &out, &[]);
    let mut by_spark = BTreeMap::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        if row.get("total").is_none() {
            continue;
        }
        assert_eq!(row["exact"], true, "{row}");
        let total: f64 = row["total"].as_str().unwrap().parse().unwrap();
        by_spark.insert(
            (
                row["enterprise"].as_str().unwrap().to_string(),
                row["carrier"].as_str().unwrap().to_string(),
                row["month"].as_str().unwrap().to_string(),
            ),
            six(total),
        );
    }
    let want: BTreeMap<_, _> = expected.iter().map(|(k, v)| (k.clone(), six(*v))).collect();
    assert_eq!(by_spark, want);

    // The backfill job writes the same quarters from the published files into the region's
    // virtual meters (as after late data): the region's totals do not move.
    let lines = tmp.join("backfill.lp");
    let (from, to) = (MONTHS[0].1.to_string(), MONTHS[1].2.to_string());
    region_job(
        "backfill",
        &shared,
        &lines,
        &[
            "--region",
            &region.url,
            "--token",
            &region.token,
            "--",
            "--from",
            &from,
            "--to",
            &to,
        ],
    );
    let quarters = std::fs::read_to_string(&lines).unwrap().lines().count();
    // 3 electricity and 2 gas meters; a gas register's first reading only starts it.
    assert_eq!(quarters, (DAYS * 96 * 5 - 2) as usize);
    let mut at_region = BTreeMap::new();
    for e in a_enterprises.iter().chain(&b_enterprises) {
        for ((carrier, month), v) in monthly(&region, e) {
            at_region.insert((e.to_string(), carrier, month), six(v));
        }
    }
    assert_eq!(at_region, want);

    // The parks' /metrics: publications made, nothing left in the federation's queue.
    for park in [&park_a, &park_b] {
        let (status, metrics) = park.get("/metrics");
        assert_eq!(status, 200);
        let value = |name: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing from {metrics}"))
                .parse()
                .unwrap()
        };
        assert!(value("shulv_publish_seq") >= 1.0);
        assert_eq!(value("shulv_publish_failures_total"), 0.0);
        assert_eq!(value("shulv_federate_queue_records"), 0.0);
        assert!(value("shulv_federate_watermark_timestamp_seconds") * 1e3 >= MONTHS[1].2 as f64);
    }
    std::fs::remove_dir_all(&tmp).ok();
}
