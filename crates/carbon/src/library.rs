//! The factor library: shipped data files (`data/*.csv`) plus user files in the same formats.
//!
//! Every factor has an `id` and a `version`. A user file may add new ids or new versions of
//! existing ids, and may retire a version (column `retired`, e.g. a date); retired and
//! unconfirmed (`U`) rows are never chosen by default, but stay available when an inventory
//! pins them by id and version, so a result computed with a version can be recomputed after the
//! factor was updated.

use std::fmt;

use serde::{Deserialize, Serialize};
use shulv_model::{Carrier, Unit};

const GRID_CSV: &str = include_str!("../data/grid_electricity.csv");
const FUELS_CSV: &str = include_str!("../data/fuels.csv");
const GWP_CSV: &str = include_str!("../data/gwp.csv");
const OTHER_CSV: &str = include_str!("../data/other_factors.csv");

/// Verification status of a factor value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum Status {
    /// Read in the official text.
    V1,
    /// Read in a reputable secondary source quoting the official text.
    V2,
    /// Seen only in third-party material (usable, marked as such in every result).
    S,
    /// Not confirmed: never chosen by default.
    U,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        match s {
            "V1" => Some(Status::V1),
            "V2" => Some(Status::V2),
            "S" => Some(Status::S),
            "U" => Some(Status::U),
            _ => None,
        }
    }

    /// True for V1 and V2.
    pub fn is_confirmed(self) -> bool {
        matches!(self, Status::V1 | Status::V2)
    }
}

/// A problem in a factor file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file} line {line}: {field}: {message}")]
pub struct LibraryError {
    /// File name.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// Column.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Where a factor comes from; part of every factor and of every result line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FactorRef {
    /// Factor id.
    pub id: String,
    /// Version of the id.
    pub version: u32,
    /// The value used.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Publisher and document (e.g. `MEE NBS 公告2024年第12号`).
    pub document: String,
    /// Table or clause.
    pub table: String,
    /// Verification status.
    pub status: Status,
}

/// A grid electricity CO2 factor (tCO2/MWh).
#[derive(Debug, Clone, PartialEq)]
pub struct GridFactor {
    /// Provenance and value.
    pub factor: FactorRef,
    /// Series: `cn_market`, `mee_nbs_average`, `mee_nbs_excl_traded_nonfossil`,
    /// `mee_nbs_fossil`, `footprint_*`.
    pub series: String,
    /// `CN`, a grid region (`GRID-EAST` …) or a province (ISO 3166-2, `CN-JS` …).
    pub region: String,
    /// Data year (the year the factor describes), if known.
    pub data_year: Option<i32>,
    /// Publication date as printed.
    pub published: String,
    /// Retired (not chosen by default).
    pub retired: bool,
}

/// How a fuel's NCV is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum NcvBasis {
    /// GJ per tonne: the activity must be a mass.
    PerTonne,
    /// GJ per 10⁴ Nm³: the activity must be a volume.
    PerTenKNm3,
}

/// Combustion parameters of a fuel under one guideline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fuel {
    /// Provenance (the value is the NCV).
    pub factor: FactorRef,
    /// Guideline (`cn_ndrc_other`, `ipcc2006_tier1`, `cn_mee_power`, or a user name).
    pub guideline: String,
    /// Name of the fuel.
    pub name: String,
    /// Carrier this row is the default for under its guideline.
    pub carrier: Option<Carrier>,
    /// Net calorific value (低位发热量).
    pub ncv: Option<f64>,
    /// Unit basis of `ncv`.
    pub ncv_basis: NcvBasis,
    /// Carbon content per heat (单位热值含碳量), tC/GJ (Chinese method).
    pub carbon_content: Option<f64>,
    /// Oxidation rate (碳氧化率), fraction.
    pub oxidation: Option<f64>,
    /// CO2 per heat, kg/TJ (IPCC method), instead of carbon content × 44/12.
    pub co2_kg_per_tj: Option<f64>,
    /// CH4 per heat, kg/TJ.
    pub ch4_kg_per_tj: Option<f64>,
    /// N2O per heat, kg/TJ.
    pub n2o_kg_per_tj: Option<f64>,
    /// Biomass: CO2 reported separately, not in the totals.
    pub biogenic: bool,
    /// Retired (not chosen by default).
    pub retired: bool,
}

impl Fuel {
    /// tCO2 per GJ: carbon content × oxidation × 44/12, or the IPCC kg/TJ factor × oxidation.
    pub fn co2_t_per_gj(&self) -> Option<f64> {
        let of = self.oxidation.unwrap_or(1.0);
        match (self.co2_kg_per_tj, self.carbon_content) {
            (Some(ef), _) => Some(ef * 1e-6 * of),
            (None, Some(cc)) => Some(cc * of * 44.0 / 12.0),
            (None, None) => None,
        }
    }
}

/// A user-defined process-emission factor (tCO2e per unit of activity).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessFactor {
    /// Provenance (the value is tCO2e per unit).
    pub factor: FactorRef,
    /// Unit of the activity (e.g. `t` of clinker).
    pub activity_unit: Unit,
    /// Retired (not chosen by default).
    pub retired: bool,
}

/// A factor of `other_factors.csv` (purchased heat, standard-coal coefficients).
#[derive(Debug, Clone, PartialEq)]
pub struct OtherFactor {
    /// Provenance and value.
    pub factor: FactorRef,
    /// `heat` or `coal_equivalent`.
    pub kind: String,
    /// What it applies to.
    pub subject: String,
}

/// A GWP-100 value.
#[derive(Debug, Clone, PartialEq)]
pub struct Gwp {
    /// `AR2`, `AR4`, `AR5`, `AR6`.
    pub set: String,
    /// `CH4`, `N2O`, `SF6`.
    pub gas: String,
    /// kgCO2e per kg.
    pub value: f64,
    /// Verification status.
    pub status: Status,
}

/// The factor library.
#[derive(Debug, Clone, Default)]
pub struct Library {
    grid: Vec<GridFactor>,
    fuels: Vec<Fuel>,
    process: Vec<ProcessFactor>,
    other: Vec<OtherFactor>,
    gwp: Vec<Gwp>,
}

/// One parsed CSV file with named columns.
struct Table<'a> {
    file: &'a str,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl<'a> Table<'a> {
    fn parse(file: &'a str, text: &str) -> Result<Table<'a>, LibraryError> {
        let err = |line: usize, message: String| LibraryError {
            file: file.to_string(),
            line,
            field: "line".into(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                err(line, e.to_string())
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            let cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
            match &header {
                None => header = Some(cells),
                Some(h) => {
                    if cells.len() > h.len() {
                        return Err(err(
                            line,
                            format!("{} cells, the header has {}", cells.len(), h.len()),
                        ));
                    }
                    rows.push((line, cells));
                }
            }
        }
        Ok(Table {
            file,
            header: header.ok_or_else(|| err(1, "no header line".into()))?,
            rows,
        })
    }

    fn error(&self, line: usize, field: &str, message: String) -> LibraryError {
        LibraryError {
            file: self.file.to_string(),
            line,
            field: field.to_string(),
            message,
        }
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn require(&self, names: &[&str]) -> Result<(), LibraryError> {
        for n in names {
            if self.col(n).is_none() {
                return Err(self.error(1, n, "required column missing".into()));
            }
        }
        Ok(())
    }
}

/// Accessors of one row.
struct Row<'t, 'a> {
    t: &'t Table<'a>,
    line: usize,
    cells: &'t [String],
}

impl Row<'_, '_> {
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.t.col(name)?;
        self.cells
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    fn required(&self, name: &str) -> Result<&str, LibraryError> {
        self.get(name)
            .ok_or_else(|| self.t.error(self.line, name, "missing value".into()))
    }

    /// A number in `(lo, hi]` (or `[0, hi]` when `zero_ok`).
    fn number(
        &self,
        name: &str,
        lo: f64,
        hi: f64,
        zero_ok: bool,
    ) -> Result<Option<f64>, LibraryError> {
        let Some(s) = self.get(name) else {
            return Ok(None);
        };
        let v: f64 = s.parse().map_err(|_| {
            self.t
                .error(self.line, name, format!("not a number: {s:?}"))
        })?;
        let ok = v.is_finite() && v <= hi && (v > lo || (zero_ok && v == 0.0));
        if !ok {
            return Err(self.t.error(
                self.line,
                name,
                format!("{v} is outside the plausible range ({lo}, {hi}]"),
            ));
        }
        Ok(Some(v))
    }

    fn version(&self) -> Result<u32, LibraryError> {
        let s = self.required("version")?;
        s.parse::<u32>().ok().filter(|&v| v > 0).ok_or_else(|| {
            self.t.error(
                self.line,
                "version",
                format!("not a positive integer: {s:?}"),
            )
        })
    }

    fn status(&self) -> Result<Status, LibraryError> {
        let s = self.required("status")?;
        Status::parse(s).ok_or_else(|| {
            self.t
                .error(self.line, "status", format!("{s:?} is not V1, V2, S or U"))
        })
    }

    fn expect_unit(&self, name: &str, allowed: &[&str]) -> Result<String, LibraryError> {
        let s = self.required(name)?;
        if allowed.contains(&s) {
            Ok(s.to_string())
        } else {
            Err(self.t.error(
                self.line,
                name,
                format!(
                    "unit {s:?} is not accepted here (expected {})",
                    allowed.join(" or ")
                ),
            ))
        }
    }

    fn retired(&self) -> bool {
        self.get("retired").is_some()
    }
}

fn rows<'t, 'a>(t: &'t Table<'a>) -> impl Iterator<Item = Row<'t, 'a>> {
    t.rows.iter().map(move |(line, cells)| Row {
        t,
        line: *line,
        cells,
    })
}

impl Library {
    /// The shipped library.
    pub fn builtin() -> Library {
        let mut lib = Library::default();
        lib.add_grid_csv("grid_electricity.csv", GRID_CSV)
            .and_then(|_| lib.add_fuels_csv("fuels.csv", FUELS_CSV))
            .and_then(|_| lib.add_gwp_csv("gwp.csv", GWP_CSV))
            .and_then(|_| lib.add_other_csv("other_factors.csv", OTHER_CSV))
            .unwrap_or_else(|e| panic!("shipped factor file is invalid: {e}"));
        lib
    }

    fn check_new(
        &self,
        t: &Table<'_>,
        line: usize,
        id: &str,
        version: u32,
    ) -> Result<(), LibraryError> {
        let taken = self
            .grid
            .iter()
            .map(|g| &g.factor)
            .chain(self.fuels.iter().map(|f| &f.factor))
            .chain(self.process.iter().map(|p| &p.factor))
            .chain(self.other.iter().map(|o| &o.factor))
            .any(|f| f.id == id && f.version == version);
        if taken {
            return Err(t.error(
                line,
                "version",
                format!("{id} version {version} exists already: add a new version instead of changing it"),
            ));
        }
        Ok(())
    }

    /// Add grid factors (format of `data/grid_electricity.csv`, optional `retired` column).
    pub fn add_grid_csv(&mut self, file: &str, text: &str) -> Result<usize, LibraryError> {
        let t = Table::parse(file, text)?;
        t.require(&[
            "id", "version", "series", "region", "value", "unit", "status",
        ])?;
        let mut added = Vec::new();
        for r in rows(&t) {
            let id = r.required("id")?.to_string();
            let version = r.version()?;
            self.check_new(&t, r.line, &id, version)?;
            let unit = r.expect_unit("unit", &["tCO2/MWh", "tCO2e/MWh", "kgCO2/kWh"])?;
            let value = r
                .number("value", 0.0, 2.0, true)?
                .ok_or_else(|| t.error(r.line, "value", "missing value".into()))?;
            let data_year = match r.get("data_year") {
                None => None,
                Some(s) => Some(
                    s.parse::<i32>()
                        .ok()
                        .filter(|y| (1990..=2100).contains(y))
                        .ok_or_else(|| {
                            t.error(r.line, "data_year", format!("not a year: {s:?}"))
                        })?,
                ),
            };
            added.push(GridFactor {
                factor: FactorRef {
                    id,
                    version,
                    value,
                    unit,
                    document: format!("{} {}", r.text("publisher"), r.text("document"))
                        .trim()
                        .to_string(),
                    table: r.text("table"),
                    status: r.status()?,
                },
                series: r.required("series")?.to_string(),
                region: r.required("region")?.to_string(),
                data_year,
                published: r.text("published"),
                retired: r.retired(),
            });
        }
        let n = added.len();
        self.grid.extend(added);
        Ok(n)
    }

    /// Add fuels (format of `data/fuels.csv`, optional `retired` column).
    pub fn add_fuels_csv(&mut self, file: &str, text: &str) -> Result<usize, LibraryError> {
        let t = Table::parse(file, text)?;
        t.require(&["id", "version", "guideline", "fuel", "ncv_unit", "status"])?;
        let mut added = Vec::new();
        for r in rows(&t) {
            let id = r.required("id")?.to_string();
            let version = r.version()?;
            self.check_new(&t, r.line, &id, version)?;
            let ncv_unit = r.expect_unit("ncv_unit", &["GJ/t", "GJ/10^4Nm3"])?;
            let ncv_basis = if ncv_unit == "GJ/t" {
                NcvBasis::PerTonne
            } else {
                NcvBasis::PerTenKNm3
            };
            let ncv_max = if ncv_basis == NcvBasis::PerTonne {
                60.0
            } else {
                1000.0
            };
            let ncv = r.number("ncv", 0.0, ncv_max, false)?;
            let carbon_content = r.number("cc_tc_per_gj", 0.0, 0.2, false)?;
            let oxidation = r.number("oxidation", 0.0, 1.0, false)?;
            let co2_kg_per_tj = r.number("co2_kg_per_tj", 0.0, 400_000.0, true)?;
            if carbon_content.is_none() && co2_kg_per_tj.is_none() {
                return Err(t.error(
                    r.line,
                    "cc_tc_per_gj",
                    "either cc_tc_per_gj or co2_kg_per_tj is needed".into(),
                ));
            }
            let carrier = match r.get("carrier") {
                None => None,
                Some(s) => Some(
                    s.parse::<Carrier>()
                        .map_err(|e| t.error(r.line, "carrier", e.to_string()))?,
                ),
            };
            let biogenic = match r.get("biogenic") {
                None | Some("false") => false,
                Some("true") => true,
                Some(s) => {
                    return Err(t.error(r.line, "biogenic", format!("{s:?} is not true or false")))
                }
            };
            added.push(Fuel {
                factor: FactorRef {
                    id,
                    version,
                    // The NCV, or for a carbon-content-only default its carbon content.
                    value: ncv.or(carbon_content).or(co2_kg_per_tj).unwrap_or_default(),
                    unit: match (ncv, carbon_content) {
                        (Some(_), _) => ncv_unit,
                        (None, Some(_)) => "tC/GJ".to_string(),
                        (None, None) => "kgCO2/TJ".to_string(),
                    },
                    document: format!("{} {}", r.text("publisher"), r.text("document"))
                        .trim()
                        .to_string(),
                    table: r.text("table"),
                    status: r.status()?,
                },
                guideline: r.required("guideline")?.to_string(),
                name: r.required("fuel")?.to_string(),
                carrier,
                ncv,
                ncv_basis,
                carbon_content,
                oxidation,
                co2_kg_per_tj,
                ch4_kg_per_tj: r.number("ch4_kg_per_tj", 0.0, 10_000.0, true)?,
                n2o_kg_per_tj: r.number("n2o_kg_per_tj", 0.0, 10_000.0, true)?,
                biogenic,
                retired: r.retired(),
            });
        }
        let n = added.len();
        self.fuels.extend(added);
        Ok(n)
    }

    /// Add process-emission factors: columns `id,version,activity_unit,value,unit,document,
    /// table,status[,retired]` with `unit` = `tCO2e/<activity unit>`.
    pub fn add_process_csv(&mut self, file: &str, text: &str) -> Result<usize, LibraryError> {
        let t = Table::parse(file, text)?;
        t.require(&["id", "version", "activity_unit", "value", "unit", "status"])?;
        let mut added = Vec::new();
        for r in rows(&t) {
            let id = r.required("id")?.to_string();
            let version = r.version()?;
            self.check_new(&t, r.line, &id, version)?;
            let au = r.required("activity_unit")?;
            let activity_unit: Unit = au.parse().map_err(|e: shulv_model::UnitError| {
                t.error(r.line, "activity_unit", e.to_string())
            })?;
            let unit = r.required("unit")?.to_string();
            let expected = format!("tCO2e/{au}");
            if unit != expected && unit != format!("tCO2/{au}") {
                return Err(t.error(
                    r.line,
                    "unit",
                    format!("{unit:?} does not match the activity unit (expected {expected:?})"),
                ));
            }
            added.push(ProcessFactor {
                factor: FactorRef {
                    id,
                    version,
                    value: r
                        .number("value", 0.0, 100.0, true)?
                        .ok_or_else(|| t.error(r.line, "value", "missing value".into()))?,
                    unit,
                    document: r.text("document"),
                    table: r.text("table"),
                    status: r.status()?,
                },
                activity_unit,
                retired: r.retired(),
            });
        }
        let n = added.len();
        self.process.extend(added);
        Ok(n)
    }

    fn add_other_csv(&mut self, file: &str, text: &str) -> Result<usize, LibraryError> {
        let t = Table::parse(file, text)?;
        t.require(&[
            "id", "version", "kind", "subject", "value", "unit", "status",
        ])?;
        for r in rows(&t) {
            let id = r.required("id")?.to_string();
            let version = r.version()?;
            self.check_new(&t, r.line, &id, version)?;
            let unit = r.expect_unit(
                "unit",
                &[
                    "tCO2/GJ", "kgce/kWh", "kgce/kg", "kgce/m3", "kgce/MJ", "kgce/t",
                ],
            )?;
            self.other.push(OtherFactor {
                factor: FactorRef {
                    id,
                    version,
                    value: r
                        .number("value", 0.0, 10.0, true)?
                        .ok_or_else(|| t.error(r.line, "value", "missing value".into()))?,
                    unit,
                    document: r.text("document"),
                    table: r.text("note"),
                    status: r.status()?,
                },
                kind: r.required("kind")?.to_string(),
                subject: r.required("subject")?.to_string(),
            });
        }
        Ok(t.rows.len())
    }

    fn add_gwp_csv(&mut self, file: &str, text: &str) -> Result<usize, LibraryError> {
        let t = Table::parse(file, text)?;
        t.require(&["set", "gas", "value", "status"])?;
        for r in rows(&t) {
            self.gwp.push(Gwp {
                set: r.required("set")?.to_string(),
                gas: r.required("gas")?.to_string(),
                value: r
                    .number("value", 0.0, 100_000.0, false)?
                    .ok_or_else(|| t.error(r.line, "value", "missing value".into()))?,
                status: r.status()?,
            });
        }
        Ok(t.rows.len())
    }

    /// All grid factors.
    pub fn grid_factors(&self) -> &[GridFactor] {
        &self.grid
    }

    /// All fuels.
    pub fn fuels(&self) -> &[Fuel] {
        &self.fuels
    }

    /// All process factors.
    pub fn process_factors(&self) -> &[ProcessFactor] {
        &self.process
    }

    /// Purchased-heat factors and standard-coal coefficients.
    pub fn other_factors(&self) -> &[OtherFactor] {
        &self.other
    }

    /// All GWP values.
    pub fn gwp_values(&self) -> &[Gwp] {
        &self.gwp
    }

    /// The grid factor of `series` for `region` whose data year is the latest not after
    /// `year`, highest version, not retired, not `U`.
    pub fn grid(&self, series: &str, region: &str, year: i32) -> Option<&GridFactor> {
        self.grid
            .iter()
            .filter(|g| g.series == series && g.region == region && !g.retired)
            .filter(|g| g.factor.status != Status::U)
            .filter(|g| g.data_year.is_some_and(|y| y <= year))
            .max_by_key(|g| (g.data_year, g.factor.version))
    }

    /// A grid factor by id: `version` if given, else the highest version not retired.
    pub fn grid_by_id(&self, id: &str, version: Option<u32>) -> Option<&GridFactor> {
        pick(
            self.grid.iter().filter(|g| g.factor.id == id),
            version,
            |g| (&g.factor, g.retired),
        )
    }

    /// A fuel by id: `version` if given, else the highest version not retired.
    pub fn fuel(&self, id: &str, version: Option<u32>) -> Option<&Fuel> {
        pick(
            self.fuels.iter().filter(|f| f.factor.id == id),
            version,
            |f| (&f.factor, f.retired),
        )
    }

    /// The default fuel of `carrier` under `guideline` (highest version, not retired, not U).
    pub fn default_fuel(&self, guideline: &str, carrier: Carrier) -> Option<&Fuel> {
        self.fuels
            .iter()
            .filter(|f| f.guideline == guideline && f.carrier == Some(carrier))
            .filter(|f| !f.retired && f.factor.status != Status::U)
            .max_by_key(|f| f.factor.version)
    }

    /// A process factor by id.
    pub fn process(&self, id: &str, version: Option<u32>) -> Option<&ProcessFactor> {
        pick(
            self.process.iter().filter(|p| p.factor.id == id),
            version,
            |p| (&p.factor, p.retired),
        )
    }

    /// A factor of `other_factors.csv` by id (highest version).
    pub fn other(&self, id: &str, version: Option<u32>) -> Option<&OtherFactor> {
        pick(
            self.other.iter().filter(|o| o.factor.id == id),
            version,
            |o| (&o.factor, false),
        )
    }

    /// The GWP of `gas` in `set`.
    pub fn gwp(&self, set: &str, gas: &str) -> Option<&Gwp> {
        self.gwp.iter().find(|g| g.set == set && g.gas == gas)
    }
}

/// `version` if given (retired or not), else the highest version that is not retired and not U.
fn pick<'a, T>(
    items: impl Iterator<Item = &'a T>,
    version: Option<u32>,
    key: impl Fn(&T) -> (&FactorRef, bool),
) -> Option<&'a T> {
    let items: Vec<&T> = items.collect();
    match version {
        Some(v) => items.into_iter().find(|x| key(x).0.version == v),
        None => items
            .into_iter()
            .filter(|x| !key(x).1 && key(x).0.status != Status::U)
            .max_by_key(|x| key(x).0.version),
    }
}

impl fmt::Display for FactorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} v{} = {} {} ({}; {}; {:?})",
            self.id, self.version, self.value, self.unit, self.document, self.table, self.status
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_load_with_every_reference_value() {
        let lib = Library::builtin();
        // Section 1: both series, all three 口径, regions, provinces (2021 and 2022).
        assert_eq!(
            lib.grid_by_id("cn_market:2022", None).unwrap().factor.value,
            0.5703
        );
        assert_eq!(
            lib.grid_by_id("cn_market:2015", None)
                .unwrap()
                .factor
                .status,
            Status::V1
        );
        assert_eq!(
            lib.grid("mee_nbs_average", "CN", 2021)
                .unwrap()
                .factor
                .value,
            0.5568
        );
        assert_eq!(
            lib.grid("mee_nbs_excl_traded_nonfossil", "CN", 2023)
                .unwrap()
                .factor
                .value,
            0.6096
        );
        assert_eq!(
            lib.grid("mee_nbs_fossil", "CN", 2022).unwrap().factor.value,
            0.8325
        );
        assert_eq!(
            lib.grid("mee_nbs_average", "GRID-SOUTHWEST", 2023)
                .unwrap()
                .factor
                .value,
            0.2472
        );
        assert_eq!(
            lib.grid("mee_nbs_average", "CN-YN", 2022)
                .unwrap()
                .factor
                .value,
            0.1073
        );
        assert_eq!(
            lib.grid("mee_nbs_average", "CN-JS", 2021)
                .unwrap()
                .factor
                .status,
            Status::S
        );
        let provinces = lib
            .grid_factors()
            .iter()
            .filter(|g| g.region.starts_with("CN-") && g.data_year == Some(2022))
            .count();
        assert_eq!(provinces, 30, "30 provinces (Tibet is not listed)");
        assert_eq!(
            lib.grid_by_id("footprint_average:2023:CN", None)
                .unwrap()
                .factor
                .value,
            0.6205
        );
        // Sections 2, 3: fuels under both guidelines.
        let gas = lib
            .default_fuel("cn_ndrc_other", Carrier::NaturalGas)
            .unwrap();
        let per_nm3 = gas.ncv.unwrap() / 1e4 * gas.co2_t_per_gj().unwrap() * 1000.0;
        assert!((per_nm3 - 2.1622).abs() < 5e-4, "{per_nm3} kgCO2/Nm3");
        let diesel = lib.default_fuel("ipcc2006_tier1", Carrier::Diesel).unwrap();
        assert_eq!(
            (diesel.ncv, diesel.ch4_kg_per_tj, diesel.n2o_kg_per_tj),
            (Some(43.0), Some(3.0), Some(0.6))
        );
        assert_eq!(
            lib.fuel("cn_mee_power:coal_cc_default_2022", None)
                .unwrap()
                .carbon_content,
            Some(0.03085)
        );
        // Sections 4, 5.
        assert_eq!(lib.gwp("AR6", "N2O").unwrap().value, 273.0);
        assert_eq!(lib.gwp("AR2", "CH4").unwrap().value, 21.0);
        assert_eq!(
            lib.other("gbt2589:electricity_calorific", None)
                .unwrap()
                .factor
                .value,
            0.1229
        );
        assert_eq!(
            lib.other("cn:heat_purchased", None).unwrap().factor.value,
            0.11
        );
    }

    #[test]
    fn unconfirmed_values_are_never_defaults() {
        let lib = Library::builtin();
        assert!(lib
            .grid_by_id("cn_market:unattributed-0.5810", None)
            .is_none());
        assert_eq!(
            lib.grid_by_id("cn_market:unattributed-0.5810", Some(1))
                .unwrap()
                .factor
                .value,
            0.5810
        );
        assert_eq!(
            lib.grid("cn_market", "CN", 2030).unwrap().factor.value,
            0.5703
        );
        assert!(lib
            .other("gbt2589:electricity_equivalent_dated", None)
            .is_none());
    }

    #[test]
    fn user_versions_and_retirement_keep_old_results_reproducible() {
        let mut lib = Library::builtin();
        let v2 = "id,version,guideline,fuel,carrier,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\n\
                  plant:coal,1,site,boiler coal,,20,GJ/t,0.02749,0.94,S\n\
                  plant:coal,2,site,boiler coal (lab 2025),,21.5,GJ/t,0.02749,0.94,S\n";
        lib.add_fuels_csv("my_fuels.csv", v2).unwrap();
        assert_eq!(lib.fuel("plant:coal", None).unwrap().ncv, Some(21.5));
        assert_eq!(lib.fuel("plant:coal", Some(1)).unwrap().ncv, Some(20.0));
        let again = "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nplant:coal,2,site,x,22,GJ/t,0.027,0.9,S\n";
        let e = lib.add_fuels_csv("again.csv", again).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "version"), "{e}");
        let retire = "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status,retired\nplant:coal,3,site,x,22,GJ/t,0.027,0.9,S,2026-06-30\n";
        lib.add_fuels_csv("retire.csv", retire).unwrap();
        assert_eq!(lib.fuel("plant:coal", None).unwrap().factor.version, 2);
        assert_eq!(lib.fuel("plant:coal", Some(3)).unwrap().ncv, Some(22.0));
    }

    #[test]
    fn bad_rows_are_named_by_file_line_and_field() {
        let mut lib = Library::builtin();
        let cases = [
            ("id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20,MJ/kg,0.027,0.9,S\n", "ncv_unit"),
            // NCV in MJ/kg typed into a GJ/t column is fine numerically, but 20 000 is not.
            ("id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20000,GJ/t,0.027,0.9,S\n", "ncv"),
            // Carbon content in kgC/GJ instead of tC/GJ.
            ("id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20,GJ/t,27.49,0.9,S\n", "cc_tc_per_gj"),
            // Oxidation as a percentage.
            ("id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20,GJ/t,0.027,94,S\n", "oxidation"),
            ("id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nx,1,g,f,20,GJ/t,0.027,0.9,maybe\n", "status"),
        ];
        for (text, field) in cases {
            let e = lib.add_fuels_csv("f.csv", text).unwrap_err();
            assert_eq!(
                (e.file.as_str(), e.line, e.field.as_str()),
                ("f.csv", 2, field),
                "{e}"
            );
        }
        // A grid factor in kgCO2/MWh (570.3) is refused by range.
        let grid = "id,version,series,region,data_year,value,unit,status\ng,1,s,CN,2022,570.3,tCO2/MWh,S\n";
        assert_eq!(lib.add_grid_csv("g.csv", grid).unwrap_err().field, "value");
    }
}
