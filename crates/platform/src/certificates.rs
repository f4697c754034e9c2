//! Green electricity certificates (绿证, GEC: 1 certificate = 1 MWh) and green-power trades:
//! registered with their serial range, retired once against an entity and period, and used
//! first by the market-based Scope 2 of that entity's accounts.
//!
//! The book is `certificates.json` in the data directory, replaced atomically (temporary file,
//! fsync, rename, directory fsync) under one lock, so a certificate is retired once only, also
//! under concurrent requests, and an acknowledged change survives a crash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shulv_carbon::Instrument;

use crate::accounting::Period;
use crate::{Platform, PlatformError};

/// Kind of instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// Green electricity certificate (绿证): the quantity is a whole number of MWh.
    Gec,
    /// Green-power trade (绿电交易) with its bundled certificates.
    GreenPowerTrade,
}

/// A certificate (or a batch with a serial range) to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificate {
    /// Unique id of the record.
    pub id: String,
    /// GEC or green-power trade.
    pub kind: CertificateKind,
    /// Node that holds it (its scope may retire it).
    pub owner: String,
    /// MWh represented.
    pub mwh: f64,
    /// Production year.
    pub vintage: i32,
    /// wind, pv, hydro, biomass, …
    pub technology: String,
    /// Region of production (e.g. `CN-NM`).
    pub region: String,
    /// First serial number of the range.
    pub serial_start: String,
    /// Last serial number of the range (same prefix, trailing digits).
    pub serial_end: String,
}

/// A retirement (cancellation) of a certificate on behalf of an entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retirement {
    /// Entity (node) the claim is made for.
    pub entity: String,
    /// Period of consumption it covers (`2025`, `2025-Q2`, `2025-03`).
    pub period: String,
    /// When (ms UTC).
    pub retired_at: i64,
    /// Who retired it.
    pub by: String,
}

/// A registered certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificate {
    /// What was registered.
    #[serde(flatten)]
    pub spec: NewCertificate,
    /// When (ms UTC).
    pub registered_at: i64,
    /// Set once, when retired.
    pub retirement: Option<Retirement>,
}

/// The book of certificates.
pub(crate) struct CertificateBook {
    path: PathBuf,
    list: Vec<Certificate>,
}

impl CertificateBook {
    pub(crate) fn open(data_dir: &Path) -> Result<Self, PlatformError> {
        let path = data_dir.join("certificates.json");
        let list = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PlatformError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(PlatformError::Io(format!("{}: {e}", path.display()))),
        };
        Ok(CertificateBook { path, list })
    }

    fn save(&self, list: &[Certificate]) -> Result<(), PlatformError> {
        let bytes =
            serde_json::to_vec_pretty(list).map_err(|e| PlatformError::Io(e.to_string()))?;
        crate::registry::write_atomically(&self.path, &bytes)
    }
}

/// (prefix, number) of a serial such as `GEC2025NM000123`.
fn split_serial(s: &str) -> Option<(&str, u128)> {
    let digits = s.len() - s.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (prefix, num) = s.split_at(digits);
    Some((prefix, num.parse().ok()?))
}

fn validate(c: &NewCertificate, i: usize) -> Result<(String, u128, u128), PlatformError> {
    let bad = |field: &str, msg: String| {
        PlatformError::Invalid(format!("certificates[{i}] ({}): {field}: {msg}", c.id))
    };
    if c.id.trim().is_empty() {
        return Err(bad("id", "must not be empty".into()));
    }
    if !(c.mwh.is_finite() && c.mwh > 0.0 && c.mwh < 1e9) {
        return Err(bad(
            "mwh",
            format!("must be a positive number of MWh, got {}", c.mwh),
        ));
    }
    if !(2000..=2100).contains(&c.vintage) {
        return Err(bad(
            "vintage",
            format!("{} is not a production year", c.vintage),
        ));
    }
    let (p1, n1) = split_serial(&c.serial_start).ok_or_else(|| {
        bad(
            "serial_start",
            format!("{:?} does not end in digits", c.serial_start),
        )
    })?;
    let (p2, n2) = split_serial(&c.serial_end).ok_or_else(|| {
        bad(
            "serial_end",
            format!("{:?} does not end in digits", c.serial_end),
        )
    })?;
    if p1 != p2 || n2 < n1 {
        return Err(bad(
            "serial_end",
            format!(
                "{:?}..{:?} is not a range with one prefix",
                c.serial_start, c.serial_end
            ),
        ));
    }
    if c.kind == CertificateKind::Gec {
        let count = (n2 - n1 + 1) as f64;
        if count != c.mwh {
            return Err(bad(
                "mwh",
                format!(
                    "a GEC range of {count} certificates is {count} MWh (1 GEC = 1 MWh), not {}",
                    c.mwh
                ),
            ));
        }
    }
    Ok((p1.to_string(), n1, n2))
}

impl Platform {
    /// Registers certificates; refuses the whole batch if any id exists, a serial range overlaps
    /// a registered one, or a field is invalid. Returns how many were added. `visible(owner)`
    /// says whether the caller may see the certificates of node `owner`: an overlap names the
    /// registered certificate only then, and a taken id is refused alike whoever holds it.
    pub fn register_certificates(
        &self,
        batch: Vec<NewCertificate>,
        visible: &dyn Fn(&str) -> bool,
    ) -> Result<usize, PlatformError> {
        let mut book = self.certificates.lock();
        let mut ranges: Vec<(String, u128, u128, String)> = Vec::new();
        for c in &book.list {
            if let Ok((p, a, b)) = validate(&c.spec, 0) {
                let name = if visible(&c.spec.owner) {
                    format!("certificate {}", c.spec.id)
                } else {
                    "a certificate registered before".to_string()
                };
                ranges.push((p, a, b, name));
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        let mut next = book.list.clone();
        for (i, c) in batch.into_iter().enumerate() {
            let (p, a, b) = validate(&c, i)?;
            if self.with_tree(|t| t.node(&c.owner).is_none()) {
                return Err(PlatformError::Invalid(format!(
                    "certificates[{i}] ({}): owner: node {:?} is not in the registry",
                    c.id, c.owner
                )));
            }
            if next.iter().any(|x| x.spec.id == c.id) {
                return Err(PlatformError::Invalid(format!(
                    "certificates[{i}]: id {:?} is not available: choose another id",
                    c.id
                )));
            }
            if let Some((.., other)) = ranges
                .iter()
                .find(|(q, x, y, _)| *q == p && a <= *y && *x <= b)
            {
                return Err(PlatformError::Invalid(format!(
                    "certificates[{i}] ({}): serial range {}..{} overlaps {other}",
                    c.id, c.serial_start, c.serial_end
                )));
            }
            ranges.push((p, a, b, format!("certificate {}", c.id)));
            next.push(Certificate {
                spec: c,
                registered_at: now,
                retirement: None,
            });
        }
        let added = next.len() - book.list.len();
        book.save(&next)?;
        book.list = next;
        Ok(added)
    }

    /// Retires certificate `id` against `entity` for `period`, once only.
    pub fn retire_certificate(
        &self,
        id: &str,
        entity: &str,
        period: Period,
        by: &str,
    ) -> Result<Certificate, PlatformError> {
        if self.with_tree(|t| t.node(entity).is_none()) {
            return Err(PlatformError::NotFound(format!("node {entity:?}")));
        }
        let mut book = self.certificates.lock();
        let i = book
            .list
            .iter()
            .position(|c| c.spec.id == id)
            .ok_or_else(|| PlatformError::NotFound(format!("certificate {id:?}")))?;
        if let Some(r) = &book.list[i].retirement {
            return Err(PlatformError::Conflict(format!(
                "certificate {id:?} was retired already (for {} {}, by {})",
                r.entity, r.period, r.by
            )));
        }
        let mut next = book.list.clone();
        next[i].retirement = Some(Retirement {
            entity: entity.to_string(),
            period: period.to_string(),
            retired_at: chrono::Utc::now().timestamp_millis(),
            by: by.to_string(),
        });
        book.save(&next)?;
        book.list = next;
        Ok(book.list[i].clone())
    }

    /// Every registered certificate.
    pub fn certificates(&self) -> Vec<Certificate> {
        self.certificates.lock().list.clone()
    }

    /// Certificates retired against `node` or a node below it, for a period inside `period`.
    pub(crate) fn retired_for(&self, node: &str, period: Period) -> Vec<Instrument> {
        let (from, to) = period.dates();
        let list = self.certificates.lock().list.clone();
        self.with_tree(|t| {
            list.iter()
                .filter_map(|c| Some((c, c.retirement.as_ref()?)))
                .filter(|(_, r)| {
                    r.entity == node || t.ancestors(&r.entity).iter().any(|a| a.id == node)
                })
                .filter(|(_, r)| {
                    r.period.parse::<Period>().is_ok_and(|p| {
                        let (a, b) = p.dates();
                        from <= a && b <= to
                    })
                })
                .map(|(c, _)| Instrument {
                    id: c.spec.id.clone(),
                    mwh: c.spec.mwh,
                    vintage: c.spec.vintage,
                    technology: c.spec.technology.clone(),
                    region: c.spec.region.clone(),
                })
                .collect()
        })
    }
}
