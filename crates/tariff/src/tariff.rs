//! The tariff file (TOML), its validation and the period classification of an instant.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use shulv_model::{DayType, HolidayCalendar};

/// Slots of 15 minutes in a day: the resolution of every window.
pub const SLOTS_PER_DAY: usize = 96;

/// A time-of-use period (分时时段).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// 尖峰 critical peak.
    CriticalPeak,
    /// 高峰 peak.
    Peak,
    /// 平段 flat.
    Flat,
    /// 低谷 valley.
    Valley,
    /// 深谷 deep valley.
    DeepValley,
}

impl PeriodKind {
    /// Every period, dearest first.
    pub const ALL: [PeriodKind; 5] = [
        PeriodKind::CriticalPeak,
        PeriodKind::Peak,
        PeriodKind::Flat,
        PeriodKind::Valley,
        PeriodKind::DeepValley,
    ];

    /// The file name (`critical_peak`, `peak`, `flat`, `valley`, `deep_valley`).
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::CriticalPeak => "critical_peak",
            PeriodKind::Peak => "peak",
            PeriodKind::Flat => "flat",
            PeriodKind::Valley => "valley",
            PeriodKind::DeepValley => "deep_valley",
        }
    }

    /// The Chinese name (尖峰, 高峰, 平段, 低谷, 深谷).
    pub fn label_zh(self) -> &'static str {
        match self {
            PeriodKind::CriticalPeak => "尖峰",
            PeriodKind::Peak => "高峰",
            PeriodKind::Flat => "平段",
            PeriodKind::Valley => "低谷",
            PeriodKind::DeepValley => "深谷",
        }
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a part of a tariff is confirmed (the marks of `docs/carbon.md`; named
/// `TariffStatus` in the OpenAPI document, apart from the factors' `Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = TariffStatus)]
pub enum Status {
    /// Official text.
    V1,
    /// Reputable secondary source.
    V2,
    /// Third-party only.
    S,
    /// Unconfirmed.
    U,
    /// An example value the user replaces by their own monthly table.
    #[serde(rename = "example")]
    Example,
}

/// Where a part of the tariff comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Confirmation status.
    pub status: Status,
    /// Document or table it comes from.
    pub source: String,
}

/// A window of one period inside a day, on the 15-minute grid (`to` may be `24:00`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Period of the window (absent in `critical_peak.windows`, where it is always 尖峰).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodKind>,
    /// Start, local time `HH:MM`, inclusive.
    pub from: String,
    /// End, local time `HH:MM`, exclusive.
    pub to: String,
}

/// The windows of a set of months.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Season {
    /// Months (1–12) it applies to.
    pub months: Vec<u32>,
    /// Period of every slot no window names (usually `flat`).
    #[serde(default = "flat")]
    pub default: PeriodKind,
    /// Windows; they may not overlap.
    pub windows: Vec<Window>,
}

fn flat() -> PeriodKind {
    PeriodKind::Flat
}

/// Windows that replace the season's on public holidays with one of the given names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayRule {
    /// Holiday names as in the holiday calendar (`春节`, `劳动节`, `国庆节`); a day matches when
    /// it is a holiday whose name contains one of them (`中秋节、国庆节` matches `国庆节`).
    pub names: Vec<String>,
    /// Windows laid over the season's on those days.
    pub windows: Vec<Window>,
    /// Where the rule comes from.
    pub provenance: Provenance,
}

/// Critical-peak (尖峰) windows that apply in some months and on temperature-triggered days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriticalPeak {
    /// Months in which the windows always apply.
    #[serde(default)]
    pub months: Vec<u32>,
    /// The windows (period is 尖峰).
    pub windows: Vec<Window>,
    /// Other days also get the windows when the day's maximum temperature reaches this (°C):
    /// [`DayFlags::critical`], which the platform sets from a stored temperature series or
    /// from the days a request names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_trigger_c: Option<f64>,
    /// Station whose temperature counts (e.g. `广州`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_station: Option<String>,
    /// Where the rule comes from.
    pub provenance: Provenance,
}

/// Multipliers of the floating components relative to the flat price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ratios {
    /// 尖峰 multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_peak: Option<f64>,
    /// 高峰 multiplier.
    pub peak: f64,
    /// 平段 multiplier (1 by definition; other values are refused).
    #[serde(default = "one")]
    pub flat: f64,
    /// 低谷 multiplier.
    pub valley: f64,
    /// 深谷 multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_valley: Option<f64>,
    /// Where the ratios come from.
    pub provenance: Provenance,
}

fn one() -> f64 {
    1.0
}

impl Ratios {
    fn get(&self, p: PeriodKind) -> Option<f64> {
        match p {
            PeriodKind::CriticalPeak => self.critical_peak,
            PeriodKind::Peak => Some(self.peak),
            PeriodKind::Flat => Some(self.flat),
            PeriodKind::Valley => Some(self.valley),
            PeriodKind::DeepValley => self.deep_valley,
        }
    }
}

/// A price component (电价构成): energy purchase, T&D, funds, ...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Identifier (`purchase`, `transmission`, `funds`, ...).
    pub name: String,
    /// Chinese label (代理购电价格, 输配电价, 政府性基金及附加, ...).
    #[serde(default)]
    pub label: String,
    /// Flat price, yuan/kWh. With `floats = true` the other periods are this times the ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// True if the component floats with the period (上下浮动).
    #[serde(default)]
    pub floats: bool,
    /// Explicit prices per period (yuan/kWh), instead of `price` and the ratios.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_period: BTreeMap<PeriodKind, f64>,
    /// Where the price comes from.
    pub provenance: Provenance,
}

/// Prices of the basic charge (基本电费) of two-part (两部制) users and its rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicPrices {
    /// By transformer capacity, yuan/kVA·month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_price: Option<f64>,
    /// By maximum demand (需量), yuan/kW·month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand_price: Option<f64>,
    /// Under contract demand, actual demand above this fraction of the contract is billed at
    /// `excess_multiplier` (default 1.05).
    #[serde(default = "excess_threshold")]
    pub excess_threshold: f64,
    /// Multiplier of the demand price for the excess (default 2, 加一倍收取).
    #[serde(default = "excess_multiplier")]
    pub excess_multiplier: f64,
    /// The contract demand is raised to at least this fraction of the installed capacity
    /// (default 0.4, 发改办价格〔2016〕1583号).
    #[serde(default = "contract_floor")]
    pub contract_floor: f64,
    /// Where the prices come from.
    pub provenance: Provenance,
}

fn excess_threshold() -> f64 {
    1.05
}
fn excess_multiplier() -> f64 {
    2.0
}
fn contract_floor() -> f64 {
    0.4
}

/// One version of a tariff, as in its file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffFile {
    /// Identifier shared by every version (`cn-gd-1-10kv-two-part`).
    pub id: String,
    /// Version of the table (`2026-02`); a new monthly table is a new version.
    pub version: String,
    /// Human name.
    pub name: String,
    /// Region (ISO 3166-2, e.g. `CN-GD`).
    #[serde(default)]
    pub region: String,
    /// Voltage class and user type (`1-10 kV industrial two-part`).
    #[serde(default)]
    pub applies_to: String,
    /// IANA time zone of the windows (default `Asia/Shanghai`).
    #[serde(default = "shanghai")]
    pub timezone: String,
    /// First day the version applies to (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Free notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Where the windows come from.
    pub windows_provenance: Provenance,
    /// Windows by month.
    pub season: Vec<Season>,
    /// Holiday rules (e.g. 深谷 on the Spring Festival).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holiday: Vec<HolidayRule>,
    /// Critical-peak rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_peak: Option<CriticalPeak>,
    /// Floating ratios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratios: Option<Ratios>,
    /// Price components.
    pub component: Vec<Component>,
    /// Basic charge of two-part users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicPrices>,
}

fn shanghai() -> String {
    "Asia/Shanghai".into()
}

/// A tariff file that is wrong, with the file and field it is wrong in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct TariffError {
    /// File name (or `<request>`).
    pub file: String,
    /// Field path (`season[1].windows[0].to`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A validated tariff, ready to classify instants and price energy.
#[derive(Clone, Debug)]
pub struct Tariff {
    file: TariffFile,
    tz: Tz,
    /// Period of each slot, per month (index 0 = January).
    months: Vec<[PeriodKind; SLOTS_PER_DAY]>,
    /// Holiday overrides: names and slot overrides.
    holidays: Vec<(Vec<String>, [Option<PeriodKind>; SLOTS_PER_DAY])>,
    /// Critical-peak months and slots.
    critical: Option<([bool; 12], [bool; SLOTS_PER_DAY])>,
    /// Price per period and component (yuan/kWh), components in file order.
    prices: BTreeMap<PeriodKind, Vec<f64>>,
}

/// What makes a day special for the tariff.
#[derive(Clone, Copy, Debug, Default)]
pub struct DayFlags {
    /// The critical-peak temperature trigger fired on this day.
    pub critical: bool,
}

fn slot_of(s: &str) -> Result<usize, String> {
    let bad = || format!("{s:?} is not a time HH:MM on the 15-minute grid (00:00 to 24:00)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (usize, usize) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m >= 60 || m % 15 != 0 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 4 + m / 15)
}

/// A TOML syntax error, located by line.
fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> TariffError {
    TariffError {
        file: file.to_string(),
        field: e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}")
            })
            .unwrap_or_else(|| "file".into()),
        message: e.message().to_string(),
    }
}

/// The problems found so far in one file.
struct Problems {
    file: String,
    list: Vec<TariffError>,
}

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.list.push(TariffError {
            file: self.file.clone(),
            field: field.into(),
            message: message.into(),
        });
    }
}

/// The valid windows of `ws` as slot ranges; every invalid one is reported and left out.
fn windows(
    problems: &mut Problems,
    field: &str,
    ws: &[Window],
    need_period: bool,
) -> Vec<(usize, usize, Option<PeriodKind>)> {
    let mut out: Vec<(usize, usize, Option<PeriodKind>)> = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        let f = format!("{field}.windows[{i}]");
        if need_period && w.period.is_none() {
            problems.add(format!("{f}.period"), "missing");
            continue;
        }
        let (a, b) = match (slot_of(&w.from), slot_of(&w.to)) {
            (Ok(a), Ok(b)) => (a, b),
            (from, to) => {
                if let Err(m) = from {
                    problems.add(format!("{f}.from"), m);
                }
                if let Err(m) = to {
                    problems.add(format!("{f}.to"), m);
                }
                continue;
            }
        };
        if b <= a {
            problems.add(
                format!("{f}.to"),
                format!(
                    "{} is not after from {} (split a window over midnight in two)",
                    w.to, w.from
                ),
            );
            continue;
        }
        if let Some((j, _)) = out
            .iter()
            .enumerate()
            .find(|(_, (x, y, _))| a < *y && *x < b)
        {
            problems.add(f, format!("overlaps {field}.windows[{j}]"));
            continue;
        }
        out.push((a, b, w.period));
    }
    out
}

/// The months listed in `ms` as a mask; invalid and repeated months are reported.
fn months_of(problems: &mut Problems, field: &str, ms: &[u32]) -> [bool; 12] {
    let mut seen = [false; 12];
    for (i, &m) in ms.iter().enumerate() {
        if !(1..=12).contains(&m) {
            problems.add(
                format!("{field}.months[{i}]"),
                format!("{m} is not a month 1–12"),
            );
        } else if seen[m as usize - 1] {
            problems.add(
                format!("{field}.months[{i}]"),
                format!("month {m} is listed twice"),
            );
        } else {
            seen[m as usize - 1] = true;
        }
    }
    seen
}

/// `v` when it is a plausible energy price (yuan/kWh), else reported under `field`.
fn checked_price(problems: &mut Problems, field: String, v: f64) -> Option<f64> {
    let ok = v.is_finite() && (-10.0..=10.0).contains(&v);
    if !ok {
        problems.add(field, format!("{v} is not a price in yuan/kWh (−10 to 10)"));
    }
    ok.then_some(v)
}

/// Checks a name-like field: not empty, ASCII letters, digits, `-`, `_` and `.` only.
fn check_identifier(problems: &mut Problems, field: &str, v: &str) {
    if v.trim().is_empty() {
        problems.add(field, "must not be empty");
    } else if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        problems.add(
            field,
            format!("{v:?} may hold only ASCII letters, digits, '-', '_' and '.'"),
        );
    }
}

/// Validates every part of a tariff file, reporting each problem; the tariff when it could be
/// built (it is only valid when nothing was reported).
fn validate(problems: &mut Problems, t: TariffFile) -> Option<Tariff> {
    check_identifier(problems, "id", &t.id);
    check_identifier(problems, "version", &t.version);
    if t.name.trim().is_empty() {
        problems.add("name", "must not be empty");
    }
    let tz: Option<Tz> = t.timezone.parse().ok();
    if tz.is_none() {
        problems.add(
            "timezone",
            format!("{:?} is not an IANA time zone", t.timezone),
        );
    }
    if let Some(v) = &t.valid_from {
        if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
            problems.add("valid_from", format!("{v:?} is not a date YYYY-MM-DD"));
        }
    }
    let mut months: Vec<Option<[PeriodKind; SLOTS_PER_DAY]>> = vec![None; 12];
    let mut used = std::collections::BTreeSet::new();
    if t.season.is_empty() {
        problems.add("season", "at least one season is needed");
    }
    for (si, s) in t.season.iter().enumerate() {
        let field = format!("season[{si}]");
        let mask = months_of(problems, &field, &s.months);
        let mut slots = [s.default; SLOTS_PER_DAY];
        for (a, b, p) in windows(problems, &field, &s.windows, true) {
            slots[a..b].fill(p.unwrap_or(PeriodKind::Flat));
        }
        used.extend(slots.iter().copied());
        for (m, on) in mask.iter().enumerate() {
            if !*on {
                continue;
            }
            if months[m].is_some() {
                problems.add(
                    format!("{field}.months"),
                    format!("month {} is already covered by an earlier season", m + 1),
                );
            } else {
                months[m] = Some(slots);
            }
        }
    }
    let missing: Vec<String> = months
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(m, _)| (m + 1).to_string())
        .collect();
    if !t.season.is_empty() && !missing.is_empty() {
        problems.add(
            "season",
            format!("months {} are covered by no season", missing.join(", ")),
        );
    }
    let mut holidays = Vec::new();
    for (hi, h) in t.holiday.iter().enumerate() {
        let field = format!("holiday[{hi}]");
        if h.names.is_empty() || h.names.iter().any(|n| n.trim().is_empty()) {
            problems.add(
                format!("{field}.names"),
                "give at least one non-empty holiday name",
            );
        }
        let mut slots = [None; SLOTS_PER_DAY];
        for (a, b, p) in windows(problems, &field, &h.windows, true) {
            slots[a..b].fill(p);
            used.extend(p);
        }
        holidays.push((h.names.clone(), slots));
    }
    let critical = t.critical_peak.as_ref().map(|c| {
        let mask = months_of(problems, "critical_peak", &c.months);
        let mut slots = [false; SLOTS_PER_DAY];
        for (i, (a, b, p)) in windows(problems, "critical_peak", &c.windows, false)
            .into_iter()
            .enumerate()
        {
            if p.is_some_and(|p| p != PeriodKind::CriticalPeak) {
                problems.add(
                    format!("critical_peak.windows[{i}].period"),
                    "critical-peak windows are always critical_peak; leave period out",
                );
            }
            slots[a..b].fill(true);
        }
        if c.windows.is_empty() {
            problems.add("critical_peak.windows", "at least one window is needed");
        }
        if let Some(tc) = c.temperature_trigger_c {
            if !(20.0..=50.0).contains(&tc) {
                problems.add(
                    "critical_peak.temperature_trigger_c",
                    format!("{tc} °C is not a plausible trigger (20–50)"),
                );
            }
        }
        used.insert(PeriodKind::CriticalPeak);
        (mask, slots)
    });
    if let Some(r) = &t.ratios {
        if (r.flat - 1.0).abs() > 1e-12 {
            problems.add("ratios.flat", "the flat multiplier is 1 by definition");
        }
        for p in PeriodKind::ALL {
            if let Some(v) = r.get(p) {
                if !(v.is_finite() && v > 0.0 && v <= 10.0) {
                    problems.add(
                        format!("ratios.{p}"),
                        format!("{v} is not a multiplier in (0, 10]"),
                    );
                }
            }
        }
    }
    if t.component.is_empty() {
        problems.add("component", "at least one price component is needed");
    }
    let mut prices: BTreeMap<PeriodKind, Vec<f64>> = BTreeMap::new();
    let mut names = std::collections::BTreeSet::new();
    for (ci, c) in t.component.iter().enumerate() {
        let field = format!("component[{ci}]");
        if c.name.trim().is_empty() || !names.insert(c.name.clone()) {
            problems.add(
                format!("{field}.name"),
                format!("{:?} is empty or used twice", c.name),
            );
        }
        let base = c
            .price
            .and_then(|v| checked_price(problems, format!("{field}.price"), v));
        for p in used.iter().copied() {
            let v = if let Some(v) = c.by_period.get(&p) {
                checked_price(problems, format!("{field}.by_period.{p}"), *v)
            } else if c.price.is_none() {
                problems.add(
                    format!("{field}.by_period"),
                    format!(
                        "no price for {p} ({}) and no flat `price` to derive it from",
                        p.label_zh()
                    ),
                );
                None
            } else if c.floats {
                match t.ratios.as_ref().and_then(|r| r.get(p)) {
                    Some(r) => base.map(|b| b * r),
                    None => {
                        problems.add(
                            format!("ratios.{p}"),
                            format!("component {:?} floats and the tariff uses {p} ({}), so a ratio for it is needed", c.name, p.label_zh()),
                        );
                        None
                    }
                }
            } else {
                base
            };
            if let Some(v) = v {
                prices.entry(p).or_default().push(v);
            }
        }
        if c.price.is_none() && c.floats {
            problems.add(
                format!("{field}.floats"),
                "a floating component needs its flat `price`",
            );
        }
    }
    if let Some(b) = &t.basic {
        for (f, v) in [
            ("basic.capacity_price", b.capacity_price),
            ("basic.demand_price", b.demand_price),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=1000.0).contains(&v)) {
                    problems.add(f, format!("{v} is not a monthly price (0–1000)"));
                }
            }
        }
        if b.capacity_price.is_none() && b.demand_price.is_none() {
            problems.add("basic", "give capacity_price, demand_price or both");
        }
        if !(1.0..=2.0).contains(&b.excess_threshold) {
            problems.add(
                "basic.excess_threshold",
                format!("{} is not in [1, 2]", b.excess_threshold),
            );
        }
        if !(1.0..=5.0).contains(&b.excess_multiplier) {
            problems.add(
                "basic.excess_multiplier",
                format!("{} is not in [1, 5]", b.excess_multiplier),
            );
        }
        if !(0.0..=1.0).contains(&b.contract_floor) {
            problems.add(
                "basic.contract_floor",
                format!("{} is not in [0, 1]", b.contract_floor),
            );
        }
    }
    let months: Option<Vec<_>> = months.into_iter().collect();
    Some(Tariff {
        file: t,
        tz: tz?,
        months: months?,
        holidays,
        critical,
        prices,
    })
}

impl Tariff {
    /// Parses and validates a tariff file (TOML); `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Tariff, TariffError> {
        Tariff::check_toml(file, text).map_err(|mut all| all.swap_remove(0))
    }

    /// Validates a parsed tariff; the first problem is the error (see [`Tariff::check`] for
    /// all of them).
    pub fn new(file: &str, t: TariffFile) -> Result<Tariff, TariffError> {
        Tariff::check(file, t).map_err(|mut all| all.swap_remove(0))
    }

    /// Parses and validates a tariff file (TOML), reporting every problem found, each with its
    /// field (a TOML syntax error stops at the first).
    pub fn check_toml(file: &str, text: &str) -> Result<Tariff, Vec<TariffError>> {
        let parsed: TariffFile =
            toml::from_str(text).map_err(|e| vec![syntax_error(file, text, &e)])?;
        Tariff::check(file, parsed)
    }

    /// Validates a parsed tariff, reporting every problem found (never an empty list).
    pub fn check(file: &str, t: TariffFile) -> Result<Tariff, Vec<TariffError>> {
        let mut problems = Problems {
            file: file.to_string(),
            list: Vec::new(),
        };
        let tariff = validate(&mut problems, t);
        match tariff {
            Some(tariff) if problems.list.is_empty() => Ok(tariff),
            _ => Err(problems.list),
        }
    }
    /// The file this tariff was read from.
    pub fn file(&self) -> &TariffFile {
        &self.file
    }

    /// Identifier.
    pub fn id(&self) -> &str {
        &self.file.id
    }

    /// Version.
    pub fn version(&self) -> &str {
        &self.file.version
    }

    /// Time zone of the windows.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Names of the price components, in file order.
    pub fn component_names(&self) -> Vec<&str> {
        self.file
            .component
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Periods the tariff uses.
    pub fn periods(&self) -> Vec<PeriodKind> {
        self.prices.keys().copied().collect()
    }

    /// Prices of each component in `period` (yuan/kWh, file order), or `None` if the tariff
    /// never uses that period.
    pub fn prices(&self, period: PeriodKind) -> Option<&[f64]> {
        self.prices.get(&period).map(Vec::as_slice)
    }

    /// All-in price of `period` (yuan/kWh).
    pub fn price(&self, period: PeriodKind) -> f64 {
        self.prices(period).map(|p| p.iter().sum()).unwrap_or(0.0)
    }

    /// The period of a local instant.
    pub fn period_at(
        &self,
        local: NaiveDateTime,
        calendar: &HolidayCalendar,
        flags: DayFlags,
    ) -> PeriodKind {
        let slot = (local.hour() as usize * 60 + local.minute() as usize) / 15;
        let month = local.month0() as usize;
        let mut p = self.months[month][slot];
        if let Some((months, slots)) = &self.critical {
            if slots[slot] && (months[month] || flags.critical) {
                p = PeriodKind::CriticalPeak;
            }
        }
        let date = local.date();
        if !self.holidays.is_empty() && calendar.day_type(date) == DayType::Holiday {
            let name = calendar.name(date).unwrap_or_default();
            for (names, slots) in &self.holidays {
                if names.iter().any(|n| name.contains(n.as_str())) {
                    if let Some(o) = slots[slot] {
                        p = o;
                    }
                }
            }
        }
        p
    }

    /// Every part of the tariff with its provenance, for listings (`windows`, `ratios`,
    /// `component.purchase`, `basic`, ...).
    pub fn provenance(&self) -> Vec<(String, Provenance)> {
        let f = &self.file;
        let mut out = vec![("windows".to_string(), f.windows_provenance.clone())];
        for (i, h) in f.holiday.iter().enumerate() {
            out.push((format!("holiday[{i}]"), h.provenance.clone()));
        }
        if let Some(c) = &f.critical_peak {
            out.push(("critical_peak".into(), c.provenance.clone()));
        }
        if let Some(r) = &f.ratios {
            out.push(("ratios".into(), r.provenance.clone()));
        }
        for c in &f.component {
            out.push((format!("component.{}", c.name), c.provenance.clone()));
        }
        if let Some(b) = &f.basic {
            out.push(("basic".into(), b.provenance.clone()));
        }
        out
    }
}
