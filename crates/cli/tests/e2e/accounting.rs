//! End to end: the carbon and energy accounts of the demo park over HTTP and from the CLI.

use std::process::Command;

use crate::common::Server;

#[test]
fn demo_park_accounts_add_up_and_name_their_factors() {
    let data = crate::common::temp_dir("accounting");
    let server = Server::start("demo", &data, &[]);

    let park = server.get_json("/api/v1/accounts?node=shulv-park&period=2025");
    let inv = &park["inventory"];
    assert_eq!(
        inv["settings"]["regime"], "cn_mee_nbs",
        "the default regime is stated"
    );
    assert_eq!(inv["settings"]["gwp"], "AR6");
    // The demo lets unconfirmed (status S) factors be defaults, and says so; a request that
    // does not allow them is refused with the factors named.
    assert_eq!(inv["settings"]["allow_unconfirmed"], true);
    assert_eq!(inv["uses_unconfirmed_factors"], true);
    let (status, text) =
        server.get("/api/v1/accounts?node=shulv-park&period=2025&allow_unconfirmed=false");
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("cn_ndrc:natural_gas") && text.contains("allow_unconfirmed=true"),
        "{text}"
    );
    let total = inv["total_location_t"].as_f64().unwrap();
    assert!(total > 10_000.0, "{total}");
    // Every factor used is named with its version, source and status.
    for f in inv["factors_used"].as_array().unwrap() {
        assert!(
            f["version"].as_u64().unwrap() >= 1 && !f["document"].as_str().unwrap().is_empty(),
            "{f}"
        );
    }
    assert!(inv["factors_used"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "mee_nbs_average:2023:CN"));

    // The park is the sum of its enterprises (scope by scope), and of the grades' CO2.
    let grades = server.get_json("/api/v1/carbon-grades?node=shulv-park&period=2025");
    let enterprises = grades["enterprises"].as_array().unwrap();
    assert!(enterprises.len() >= 8, "{grades}");
    let mut sum = 0.0;
    for e in enterprises {
        let id = e["entity"].as_str().unwrap();
        let acc = server.get_json(&format!("/api/v1/accounts?node={id}&period=2025"));
        let t = acc["inventory"]["total_location_t"].as_f64().unwrap();
        assert!((t - e["co2_t"].as_f64().unwrap()).abs() < 1e-6 * t.max(1.0));
        assert!(e["grade"].as_u64().unwrap() >= 1 && e["grade"].as_u64().unwrap() <= 5);
        sum += t;
    }
    // Meters hung directly on the park (none in the demo) would make the park larger.
    assert!((sum - total).abs() < 1e-6 * total, "{sum} vs {total}");

    // Every `account grades` flag reaches the server: the CLI's answer with a 口径, a GWP set
    // and a pin equals the API's with the same parameters, and the 口径 changes the CO2.
    let params = "caliber=fossil&gwp=AR5&pins=mee_nbs_fossil:2023:CN:1";
    let api = server.get_json(&format!(
        "/api/v1/carbon-grades?node=shulv-park&period=2025&{params}"
    ));
    assert_ne!(
        api["enterprises"][0]["co2_t"], enterprises[0]["co2_t"],
        "{api}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "account",
            "grades",
            "--node",
            "shulv-park",
            "--period",
            "2025",
        ])
        .args(["--caliber", "fossil", "--gwp", "AR5"])
        .args(["--pin", "mee_nbs_fossil:2023:CN:1", "--output", "json"])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli, api);

    // Provincial factors use the node attribute province = CN-ZJ (latest provincial year 2022).
    let zj = server.get_json("/api/v1/accounts?node=shulv-park&period=2025&grid=provincial");
    assert!(zj["inventory"]["factors_used"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "mee_nbs_average:2022:CN-ZJ"));
    // GHG Protocol reports both Scope 2 totals.
    let ghg = server.get_json("/api/v1/accounts?node=shulv-park&period=2025&regime=ghg_protocol");
    assert!(
        ghg["inventory"]["scope2_market"]["total_t"]
            .as_f64()
            .unwrap()
            > ghg["inventory"]["scope2_location"]["total_t"]
                .as_f64()
                .unwrap()
    );
    // Bad settings are named.
    let (status, text) = server.get("/api/v1/accounts?node=shulv-park&period=2025-13");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("period"), "{text}");
    let (status, text) =
        server.get("/api/v1/accounts?node=shulv-park&period=2025&electricity=equivalent");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("kgce_per_kwh"), "{text}");

    // XLSX and printable HTML downloads, in both languages; an unknown format is named.
    let (status, html) =
        server.get("/api/v1/accounts?node=shulv-park&period=2025&format=html&lang=en");
    assert_eq!(status, 200);
    assert!(
        html.contains("Greenhouse gas inventory and energy report")
            && html.contains("href=\"#factor-mee_5fnbs_5faverage_3a2023_3aCN_3a1\""),
        "{}",
        &html[..html.len().min(2000)]
    );
    let (status, html) = server.get("/api/v1/accounts?node=shulv-park&period=2025&format=html");
    assert_eq!(status, 200);
    assert!(html.contains("温室气体排放与能源消费报告"));
    let (status, text) = server.get("/api/v1/accounts?node=shulv-park&period=2025&format=pdf");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("xlsx or html"), "{text}");
    let report = crate::common::temp_dir("accounting-report").join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "account",
            "inventory",
            "--node",
            "shulv-park",
            "--period",
            "2025",
        ])
        .args(["--output", "html", "--lang", "en", "--out"])
        .arg(&report)
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("Inventory lines (one per meter)"));
    let workbook = report.with_extension("xlsx");
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "account",
            "inventory",
            "--node",
            "shulv-park",
            "--period",
            "2025",
        ])
        .args(["--output", "xlsx", "--out"])
        .arg(&workbook)
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&workbook).unwrap();
    assert!(
        bytes.starts_with(b"PK") && bytes.len() > 10_000,
        "an XLSX file is a zip container of the sheets ({} bytes)",
        bytes.len()
    );

    // CSV download of the lines, and the same numbers from the CLI.
    let (status, csv) = server.get("/api/v1/accounts?node=shulv-park&period=2025&format=csv");
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("node,period,regime,gwp,meter,scope"),
        "{csv}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "account",
            "inventory",
            "--node",
            "shulv-park",
            "--period",
            "2025",
            "--output",
            "json",
        ])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        cli["inventory"]["total_location_t"],
        inv["total_location_t"]
    );

    // Green certificates: register, retire once (the CLI's second retirement fails with 409),
    // and the market-based Scope 2 of the enterprise drops by the covered MWh.
    let ent = enterprises[0]["entity"].as_str().unwrap();
    let before = server.get_json(&format!(
        "/api/v1/accounts?node={ent}&period=2025&regime=ghg_protocol"
    ));
    let body = format!(
        r#"{{"certificates":[{{"id":"gec-1","kind":"gec","owner":"{ent}","mwh":100,"vintage":2025,"technology":"pv","region":"CN-ZJ","serial_start":"ZJ0001","serial_end":"ZJ0100"}}]}}"#
    );
    let (status, text) = server.post("/api/v1/certificates", "application/json", &body);
    assert_eq!(status, 200, "{text}");
    let retire = || {
        Command::new(env!("CARGO_BIN_EXE_shulv"))
            .args([
                "account", "retire", "gec-1", "--entity", ent, "--period", "2025",
            ])
            .env("SHULV_URL", &server.url)
            .env("SHULV_TOKEN", &server.token)
            .output()
            .unwrap()
    };
    assert!(retire().status.success());
    let again = retire();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("409"));
    let after = server.get_json(&format!(
        "/api/v1/accounts?node={ent}&period=2025&regime=ghg_protocol"
    ));
    let m = |a: &serde_json::Value| a["inventory"]["scope2_market"]["total_t"].as_f64().unwrap();
    assert_eq!(after["inventory"]["certificates_mwh_applied"], 100.0);
    assert!(m(&after) < m(&before), "{} vs {}", m(&after), m(&before));
    server.stop();
}
