//! The CEADs provincial CO2 file (../shared/data/regional): the importer reads it as a long
//! panel of one indicator and flags the upstream Ningxia 2000–2002 break. Skipped, with a note,
//! where the shared data directory is absent (a clean clone).

use std::path::PathBuf;

use shulv_evaluate::panel::{self, FlagKind, QualitySettings};
use shulv_evaluate::request::{self, PanelInput};
use shulv_evaluate::{Layout, LongColumns};

fn ceads() -> Option<String> {
    let p = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("../../../shared/data/regional/ceads_province_co2_1998_2019.csv");
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("SKIP: {} not found (shared data absent)", p.display());
            None
        }
    }
}

#[test]
fn ningxia_2000_to_2002_is_flagged_and_nothing_is_filled() {
    let Some(text) = ceads() else { return };
    let input = PanelInput {
        name: "ceads_province_co2_1998_2019.csv".into(),
        csv: text,
        layout: Some(Layout::Long),
        columns: LongColumns {
            region: Some("actor_id".into()),
            year: Some("year".into()),
            value: Some("total_emissions".into()),
            indicator_id: Some("co2".into()),
            indicator: None,
        },
    };
    let panel = request::load_panel(&[input]).unwrap();
    assert_eq!(panel.regions.len(), 30);
    assert!(!panel.regions.contains(&"CN-XZ".to_string()));
    assert_eq!((panel.years[0], *panel.years.last().unwrap()), (1998, 2019));
    let nx = panel.region_index("CN-NX").unwrap();
    let y2001 = panel.year_index(2001).unwrap();
    assert_eq!(
        panel.get(0, nx, y2001),
        Some(926113.0),
        "the value is kept as it is"
    );

    let flags = panel::quality(&panel, &QualitySettings::default());
    let breaks: Vec<(String, i32)> = flags
        .iter()
        .filter(|f| f.kind == FlagKind::Break)
        .map(|f| (f.region.clone(), f.year))
        .collect();
    for year in 2000..=2002 {
        assert!(
            breaks.contains(&("CN-NX".into(), year)),
            "Ningxia {year} not flagged: {breaks:?}"
        );
    }
    // Hainan 2002 (1.0 Mt between 9.2 Mt and 15.6 Mt) is the same kind of upstream error; the
    // years around both runs and every other province are not flagged
    assert!(breaks.contains(&("CN-HI".into(), 2002)), "{breaks:?}");
    assert_eq!(breaks.len(), 4, "{breaks:?}");
    let nx2001 = flags
        .iter()
        .find(|f| f.region == "CN-NX" && f.year == 2001)
        .unwrap();
    println!("{}", nx2001.message);
    assert!(nx2001.reference.unwrap() > 10e6, "{nx2001:?}");
    assert_eq!(flags.iter().filter(|f| f.kind == FlagKind::Gap).count(), 0);
}
