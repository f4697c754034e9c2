//! Property test of the certificate book: in any sequence of retirement attempts, each
//! certificate is retired by its first attempt only; every later attempt is refused as a
//! conflict, and the book read back after a restart holds exactly the first retirements.

use proptest::prelude::*;
use shulv_model::RegistryFile;
use shulv_platform::{
    CertificateKind, NewCertificate, Period, Platform, PlatformConfig, PlatformError,
};

const REGISTRY: &str = r#"
[[node]]
id = "park"
name = "park"
kind = "park"

[[node]]
id = "e1"
name = "e1"
kind = "enterprise"
parent = "park"

[[node]]
id = "e2"
name = "e2"
kind = "enterprise"
parent = "park"
"#;

fn certificate(i: usize) -> NewCertificate {
    let first = i * 100 + 1;
    NewCertificate {
        id: format!("gec-{i}"),
        kind: CertificateKind::Gec,
        owner: "park".into(),
        mwh: 100.0,
        vintage: 2025,
        technology: "pv".into(),
        region: "CN-ZJ".into(),
        serial_start: format!("GEC2025ZJ{first:06}"),
        serial_end: format!("GEC2025ZJ{:06}", first + 99),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_certificate_is_retired_once_whatever_the_sequence(
        attempts in prop::collection::vec((0usize..4, 0usize..2, 1u32..=12), 1..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::open(PlatformConfig::new(dir.path())).unwrap();
        p.apply_registry(RegistryFile::from_toml(REGISTRY).unwrap()).unwrap();
        p.register_certificates((0..4).map(certificate).collect(), &|_| true).unwrap();
        let mut first: Vec<Option<(String, String)>> = vec![None; 4];
        for (cert, entity, month) in attempts {
            let entity = ["e1", "e2"][entity];
            let period = Period::Month(2025, month);
            let result = p.retire_certificate(&format!("gec-{cert}"), entity, period, "test");
            match &first[cert] {
                None => {
                    let c = result.unwrap();
                    let r = c.retirement.unwrap();
                    prop_assert_eq!((&r.entity[..], &r.period), (entity, &period.to_string()));
                    first[cert] = Some((entity.to_string(), period.to_string()));
                }
                Some(_) => prop_assert!(matches!(result, Err(PlatformError::Conflict(_)))),
            }
        }
        drop(p);
        let p = Platform::open(PlatformConfig::new(dir.path())).unwrap();
        for c in p.certificates() {
            let i: usize = c.spec.id["gec-".len()..].parse().unwrap();
            let got = c.retirement.map(|r| (r.entity, r.period));
            prop_assert_eq!(got, first[i].clone());
        }
    }
}
