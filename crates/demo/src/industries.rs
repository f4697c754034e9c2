//! The enterprises of the demo park: how each operates (shifts, weekends, holidays, Spring
//! Festival, seasons) and what it meters. Sizes are annual totals in the meter's unit.

use chrono::Weekday;

use crate::calendar::QUARTERS_PER_DAY;

/// Energy carrier (能源品种) or business quantity of a meter, as named in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Carrier {
    Electricity,
    NaturalGas,
    Steam,
    Heat,
    Water,
    CompressedAir,
    CoalBituminous,
    Coke,
    Diesel,
    PvGeneration,
    ProductionOutput,
    ValueAdded,
}

impl Carrier {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Electricity => "electricity",
            NaturalGas => "natural_gas",
            Steam => "steam",
            Heat => "heat",
            Water => "water",
            CompressedAir => "compressed_air",
            CoalBituminous => "coal_bituminous",
            Coke => "coke",
            Diesel => "diesel",
            PvGeneration => "pv_generation",
            ProductionOutput => "production_output",
            ValueAdded => "value_added",
        }
    }

    /// Default unit and the number of decimals the meter reports.
    fn unit(self) -> (&'static str, u32) {
        match self {
            Electricity | PvGeneration => ("kWh", 2),
            NaturalGas | Water => ("m3", 2),
            CoalBituminous | Coke => ("t", 3),
            // Steam is metered as heat (about 2.8 GJ per tonne of 1 MPa saturated steam).
            Steam | Heat => ("GJ", 3),
            CompressedAir => ("Nm3", 1),
            Diesel => ("kg", 1),
            ProductionOutput => ("t", 2),
            ValueAdded => ("10k yuan", 2),
        }
    }
}

/// Resolution of an interval meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Quarter,
    Day,
    Month,
}

/// How a meter reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reading {
    /// Quantity per interval, stamped at the interval start.
    Interval(Resolution),
    /// Register value every 15 minutes (at each slot boundary, the year's end included).
    Cumulative {
        initial: f64,
        /// Wrap value: after it the register restarts at 0 (1 000 000 for a 6-digit register).
        rollover: Option<f64>,
        /// Meter replaced at local (month, day, hour); the new meter starts at the given value.
        replaced: Option<(u32, u32, u32, f64)>,
    },
    /// Power (kW) sampled every 5 minutes (the year's end included).
    Instantaneous,
}

/// Shares of a meter's annual quantity by load component (they sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Mix {
    /// Follows the enterprise's production schedule.
    pub(crate) process: f64,
    /// Follows the enterprise's alternative schedule (off-peak grinding, night charging).
    pub(crate) alt: f64,
    /// Constant (standby, IT load, base load of utilities).
    pub(crate) flat: f64,
    /// Offices and lighting: PJM-derived profile and weather, by occupancy.
    pub(crate) building: f64,
    /// Cooling: PJM-derived cooling index with its daily profile.
    pub(crate) cooling: f64,
    /// Heating: PJM-derived heating index with its daily profile.
    pub(crate) heating: f64,
}

const fn mix(process: f64, flat: f64, building: f64, cooling: f64, heating: f64) -> Mix {
    Mix {
        process,
        alt: 0.0,
        flat,
        building,
        cooling,
        heating,
    }
}

/// What drives a meter's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Source {
    Load(Mix),
    /// A rooftop array of the given peak power (kWp) and performance ratio.
    Pv {
        kwp: f64,
        pr: f64,
    },
}

/// One meter of an enterprise.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MeterDef {
    /// Workshop/site key inside the enterprise, or "" for the enterprise itself.
    pub(crate) node: &'static str,
    /// Id suffix after the node, e.g. `line1.elec`.
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) carrier: Carrier,
    pub(crate) unit: &'static str,
    pub(crate) decimals: u32,
    pub(crate) source: Source,
    pub(crate) reading: Reading,
    /// Annual total in `unit` (energy for power meters: kWh); unused for PV.
    pub(crate) annual: f64,
    /// Relative noise amplitude (day-to-day, slow drift and 15-minute jitter).
    pub(crate) noise: f64,
    /// From the first day of this month (0-based) on, the load is multiplied by the factor.
    pub(crate) step: Option<(usize, f64)>,
}

fn meter(
    node: &'static str,
    key: &'static str,
    name: &'static str,
    carrier: Carrier,
    annual: f64,
    m: Mix,
) -> MeterDef {
    let (unit, decimals) = carrier.unit();
    MeterDef {
        node,
        key,
        name,
        carrier,
        unit,
        decimals,
        source: Source::Load(m),
        reading: Reading::Interval(Resolution::Quarter),
        annual,
        noise: 0.03,
        step: None,
    }
}

fn pv(node: &'static str, name: &'static str, kwp: f64) -> MeterDef {
    MeterDef {
        source: Source::Pv { kwp, pr: 0.80 },
        annual: 0.0,
        ..meter(node, "pv", name, PvGeneration, 0.0, Mix::default())
    }
}

fn output(unit: &'static str, decimals: u32, name: &'static str, annual: f64) -> MeterDef {
    MeterDef {
        unit,
        decimals,
        noise: 0.05,
        ..meter(
            "",
            "output",
            name,
            ProductionOutput,
            annual,
            mix(1.0, 0.0, 0.0, 0.0, 0.0),
        )
    }
    .daily()
}

fn value_added(annual: f64) -> MeterDef {
    MeterDef {
        reading: Reading::Interval(Resolution::Month),
        noise: 0.05,
        ..meter(
            "",
            "va",
            "工业增加值",
            ValueAdded,
            annual,
            mix(0.8, 0.2, 0.0, 0.0, 0.0),
        )
    }
}

impl MeterDef {
    fn noise(self, noise: f64) -> Self {
        MeterDef { noise, ..self }
    }
    fn daily(self) -> Self {
        MeterDef {
            reading: Reading::Interval(Resolution::Day),
            ..self
        }
    }
    fn register(self, initial: f64) -> Self {
        MeterDef {
            reading: Reading::Cumulative {
                initial,
                rollover: None,
                replaced: None,
            },
            ..self
        }
    }
    fn rollover(self, initial: f64, rollover: f64) -> Self {
        MeterDef {
            reading: Reading::Cumulative {
                initial,
                rollover: Some(rollover),
                replaced: None,
            },
            ..self
        }
    }
    fn replaced(self, initial: f64, at: (u32, u32, u32), new_initial: f64) -> Self {
        let replaced = Some((at.0, at.1, at.2, new_initial));
        MeterDef {
            reading: Reading::Cumulative {
                initial,
                rollover: None,
                replaced,
            },
            ..self
        }
    }
    fn power(self) -> Self {
        MeterDef {
            reading: Reading::Instantaneous,
            unit: "kW",
            decimals: 1,
            ..self
        }
    }
    fn step(self, month0: usize, factor: f64) -> Self {
        MeterDef {
            step: Some((month0, factor)),
            ..self
        }
    }
}

/// Quarter-hour levels of a working day: 1 inside shifts, 0.55 in breaks (meals, roll changes,
/// shift handovers), 0 outside, smoothed so machines ramp over about half an hour.
pub(crate) type Schedule = [f64; QUARTERS_PER_DAY];

fn schedule(shifts: &[(f64, f64)], breaks: &[(f64, f64)]) -> Schedule {
    let inside = |q: usize, spans: &[(f64, f64)]| {
        let h = q as f64 / 4.0;
        spans.iter().any(|&(a, b)| h >= a && h < b)
    };
    let raw: Vec<f64> = (0..QUARTERS_PER_DAY)
        .map(|q| match (inside(q, shifts), inside(q, breaks)) {
            (true, true) => 0.55,
            (true, false) => 1.0,
            _ => 0.0,
        })
        .collect();
    let n = QUARTERS_PER_DAY;
    std::array::from_fn(|q| 0.25 * raw[(q + n - 1) % n] + 0.5 * raw[q] + 0.25 * raw[(q + 1) % n])
}

/// How an enterprise operates over the year.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operation {
    /// Working-day production schedule.
    pub(crate) shifts: Schedule,
    /// Alternative schedule (for `Mix::alt`), if any.
    pub(crate) alt_shifts: Option<Schedule>,
    /// Production level on Saturdays, Sundays and public holidays (working day = 1).
    pub(crate) saturday: f64,
    pub(crate) sunday: f64,
    pub(crate) holiday: f64,
    /// Spring Festival shutdown: from `from` days relative to the first official holiday to `to`
    /// days relative to the last one (inclusive), at `level`, then a ramp-up over `ramp` days
    /// while workers return.
    pub(crate) spring_festival: SpringFestival,
    /// Seasonal production factor by month.
    pub(crate) monthly: [f64; 12],
    /// Annual turnaround (停车大修): local (month, day) and length in days.
    pub(crate) overhaul: Option<(u32, u32, u32)>,
    /// Weekly planned maintenance (定修): weekday and hours [from, to), at level 0.15.
    pub(crate) maintenance: Option<(Weekday, f64, f64)>,
    /// Day-to-day production variation (order book), relative.
    pub(crate) day_noise: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpringFestival {
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) level: f64,
    pub(crate) ramp: u32,
}

const FLAT_YEAR: [f64; 12] = [1.0; 12];

impl Operation {
    /// Round the clock every day of the year.
    fn continuous(breaks: &[(f64, f64)]) -> Self {
        Operation {
            shifts: schedule(&[(0.0, 24.0)], breaks),
            alt_shifts: None,
            saturday: 1.0,
            sunday: 1.0,
            holiday: 1.0,
            spring_festival: SpringFestival {
                from: 0,
                to: 0,
                level: 1.0,
                ramp: 0,
            },
            monthly: FLAT_YEAR,
            overhaul: None,
            maintenance: None,
            day_noise: 0.03,
        }
    }

    /// Day-time shift work, Monday to Friday plus make-up workdays.
    fn shifts(
        shifts: &[(f64, f64)],
        breaks: &[(f64, f64)],
        saturday: f64,
        sunday: f64,
        holiday: f64,
    ) -> Self {
        Operation {
            shifts: schedule(shifts, breaks),
            saturday,
            sunday,
            holiday,
            day_noise: 0.06,
            ..Operation::continuous(&[])
        }
    }

    fn spring_festival(self, from: i64, to: i64, level: f64, ramp: u32) -> Self {
        Operation {
            spring_festival: SpringFestival {
                from,
                to,
                level,
                ramp,
            },
            ..self
        }
    }
}

/// One enterprise: identity, operation, workshops/sites and meters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnterpriseDef {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    /// GB/T 4754-2017 division code and name.
    pub(crate) industry: &'static str,
    pub(crate) operation: Operation,
    /// (key, name, kind) of the nodes below the enterprise.
    pub(crate) nodes: Vec<(&'static str, &'static str, &'static str)>,
    pub(crate) meters: Vec<MeterDef>,
}

use Carrier::*;

const MEALS_2: &[(f64, f64)] = &[(11.5, 12.0), (17.5, 18.0)];
const OFFICE: Mix = mix(0.0, 0.15, 0.6, 0.15, 0.1);

/// The enterprises of the standard demo park (see the crate documentation).
pub(crate) fn park() -> Vec<EnterpriseDef> {
    vec![
        steel(),
        electronics(),
        dyeing(),
        chemical(),
        food(),
        pharma(),
        cold_chain(),
        data_centre(),
        auto_parts(),
        building_materials(),
    ]
}

fn steel() -> EnterpriseDef {
    let roll = mix(0.9, 0.1, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent01",
        name: "绍兴恒远钢材轧制有限公司",
        industry: "C31 黑色金属冶炼和压延加工业",
        operation: Operation {
            maintenance: Some((Weekday::Wed, 8.0, 14.0)),
            ..Operation::continuous(&[(7.75, 8.25), (15.75, 16.25), (23.75, 24.0), (0.0, 0.25)])
        }
        .spring_festival(-1, -4, 0.08, 2),
        nodes: vec![
            ("ws1", "加热炉车间", "workshop"),
            ("ws2", "棒材轧制车间", "workshop"),
            ("ws3", "高线轧制车间", "workshop"),
            ("ws4", "精整车间", "workshop"),
            ("util", "动力中心", "site"),
            ("office", "综合办公楼", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "gas",
                "加热炉天然气",
                NaturalGas,
                9.5e6,
                mix(0.85, 0.15, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws1",
                "elec",
                "加热炉风机用电",
                Electricity,
                2.2e6,
                mix(0.7, 0.3, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws2",
                "roughing.elec",
                "棒材粗轧机组用电",
                Electricity,
                5.5e6,
                roll,
            )
            .noise(0.08),
            meter(
                "ws2",
                "finishing.elec",
                "棒材精轧机组用电",
                Electricity,
                6.0e6,
                roll,
            )
            .noise(0.08),
            meter(
                "ws2",
                "elec",
                "棒材车间辅助用电",
                Electricity,
                1.0e6,
                mix(0.5, 0.3, 0.2, 0.0, 0.0),
            ),
            meter(
                "ws3",
                "roughing.elec",
                "高线粗中轧机组用电",
                Electricity,
                4.8e6,
                roll,
            )
            .noise(0.08),
            meter(
                "ws3",
                "finishing.elec",
                "高线精轧机组用电",
                Electricity,
                5.2e6,
                roll,
            )
            .noise(0.08),
            meter(
                "ws3",
                "elec",
                "高线车间辅助用电",
                Electricity,
                0.9e6,
                mix(0.5, 0.3, 0.2, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "elec",
                "精整车间用电",
                Electricity,
                1.2e6,
                mix(0.7, 0.1, 0.2, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "diesel",
                "精整叉车柴油",
                Diesel,
                50_400.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .daily(),
            meter(
                "util",
                "pump.elec",
                "水泵房用电",
                Electricity,
                1.5e6,
                mix(0.5, 0.4, 0.0, 0.1, 0.0),
            ),
            meter(
                "util",
                "air.elec",
                "空压站功率",
                Electricity,
                1.8e6,
                mix(0.6, 0.4, 0.0, 0.0, 0.0),
            )
            .power(),
            meter(
                "util",
                "air",
                "压缩空气",
                CompressedAir,
                16.0e6,
                mix(0.6, 0.4, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "water",
                "工业新水表",
                Water,
                400_000.0,
                mix(0.6, 0.3, 0.0, 0.1, 0.0),
            )
            .register(523_801.36),
            meter(
                "office",
                "elec",
                "综合办公楼用电",
                Electricity,
                0.6e6,
                OFFICE,
            ),
            pv("ws4", "精整车间屋顶光伏", 2000.0),
            output("t", 2, "钢材产量", 300_000.0),
            value_added(9_000.0),
        ],
    }
}

fn electronics() -> EnterpriseDef {
    let smt = mix(0.85, 0.15, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent02",
        name: "绍兴智联电子科技有限公司",
        industry: "C39 计算机、通信和其他电子设备制造业",
        operation: Operation::shifts(
            &[(8.0, 24.0)],
            &[(11.5, 12.25), (16.25, 16.5), (17.5, 18.25)],
            0.5,
            0.05,
            0.03,
        )
        .spring_festival(-6, 6, 0.02, 7),
        nodes: vec![
            ("ws1", "SMT车间", "workshop"),
            ("ws2", "总装车间", "workshop"),
            ("ws3", "测试老化车间", "workshop"),
            ("util", "动力站", "site"),
            ("office", "办公研发楼", "site"),
        ],
        meters: vec![
            meter("ws1", "line1.elec", "SMT一线用电", Electricity, 0.9e6, smt).noise(0.04),
            meter("ws1", "line2.elec", "SMT二线用电", Electricity, 0.9e6, smt).noise(0.04),
            meter("ws1", "line3.elec", "SMT三线用电", Electricity, 0.85e6, smt).noise(0.04),
            meter("ws1", "line4.elec", "SMT四线用电", Electricity, 0.8e6, smt).noise(0.04),
            meter(
                "ws1",
                "hvac.elec",
                "SMT车间恒温恒湿空调用电",
                Electricity,
                1.2e6,
                mix(0.0, 0.4, 0.0, 0.45, 0.15),
            ),
            meter("ws2", "line1.elec", "总装一线用电", Electricity, 0.5e6, smt),
            meter("ws2", "line2.elec", "总装二线用电", Electricity, 0.5e6, smt),
            meter(
                "ws2",
                "elec",
                "总装车间照明及辅助用电",
                Electricity,
                0.35e6,
                mix(0.5, 0.0, 0.5, 0.0, 0.0),
            ),
            meter(
                "ws3",
                "elec",
                "老化测试用电",
                Electricity,
                1.0e6,
                mix(0.6, 0.4, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "chiller.elec",
                "冷水机组功率",
                Electricity,
                1.0e6,
                mix(0.0, 0.2, 0.0, 0.8, 0.0),
            )
            .power(),
            meter(
                "util",
                "air.elec",
                "空压机用电",
                Electricity,
                0.7e6,
                mix(0.8, 0.2, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "air",
                "压缩空气",
                CompressedAir,
                6.0e6,
                mix(0.8, 0.2, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "water",
                "自来水表",
                Water,
                60_000.0,
                mix(0.5, 0.2, 0.3, 0.0, 0.0),
            )
            .register(88_410.52),
            meter(
                "office",
                "elec",
                "办公研发楼用电",
                Electricity,
                0.6e6,
                OFFICE,
            ),
            meter(
                "office",
                "gas",
                "食堂天然气",
                NaturalGas,
                40_000.0,
                mix(0.3, 0.0, 0.7, 0.0, 0.0),
            )
            .noise(0.08),
            pv("ws2", "总装车间屋顶光伏", 1500.0),
            output("pcs", 0, "PCBA模组产量", 12_000_000.0),
            value_added(15_000.0),
        ],
    }
}

fn dyeing() -> EnterpriseDef {
    let line = mix(0.85, 0.15, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent03",
        name: "绍兴锦绣印染有限公司",
        industry: "C17 纺织业",
        operation: Operation {
            sunday: 0.7,
            holiday: 0.8,
            monthly: [
                0.95, 0.6, 1.05, 1.1, 1.05, 0.95, 0.85, 0.85, 1.05, 1.1, 1.1, 1.0,
            ],
            day_noise: 0.05,
            ..Operation::continuous(&[(7.75, 8.0), (19.75, 20.0)])
        }
        .spring_festival(-8, 8, 0.03, 5),
        nodes: vec![
            ("ws1", "前处理车间", "workshop"),
            ("ws2", "染色车间", "workshop"),
            ("ws3", "印花车间", "workshop"),
            ("ws4", "后整理定型车间", "workshop"),
            ("util", "污水处理站", "site"),
        ],
        meters: vec![
            meter("ws1", "elec", "前处理车间用电", Electricity, 1.0e6, line),
            meter(
                "ws1",
                "steam",
                "前处理蒸汽",
                Steam,
                61_600.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .noise(0.06),
            meter(
                "ws1",
                "water",
                "前处理用水",
                Water,
                250_000.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .noise(0.06),
            meter(
                "ws2",
                "dyeing1.elec",
                "染色一线用电",
                Electricity,
                0.9e6,
                line,
            ),
            meter(
                "ws2",
                "dyeing2.elec",
                "染色二线用电",
                Electricity,
                0.9e6,
                line,
            ),
            meter(
                "ws2",
                "steam",
                "染色蒸汽",
                Steam,
                78_400.0,
                mix(0.85, 0.1, 0.0, 0.0, 0.05),
            )
            .noise(0.06),
            meter(
                "ws2",
                "water",
                "染色用水表",
                Water,
                300_000.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .rollover(852_310.45, 1_000_000.0),
            meter("ws3", "elec", "印花车间用电", Electricity, 0.8e6, line),
            meter(
                "ws3",
                "steam",
                "印花蒸汽",
                Steam,
                22_400.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "stenter1.gas",
                "一号定型机天然气",
                NaturalGas,
                0.6e6,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "stenter2.gas",
                "二号定型机天然气",
                NaturalGas,
                0.55e6,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            ),
            meter("ws4", "elec", "后整理车间用电", Electricity, 1.1e6, line),
            meter(
                "ws4",
                "heat",
                "导热油炉供热量",
                Heat,
                18_000.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "elec",
                "污水处理站用电",
                Electricity,
                1.2e6,
                mix(0.4, 0.6, 0.0, 0.0, 0.0),
            )
            .noise(0.02),
            pv("ws4", "定型车间屋顶光伏", 1200.0),
            output("t", 2, "印染布产量", 18_000.0),
            value_added(6_500.0),
        ],
    }
}

fn chemical() -> EnterpriseDef {
    let reactor = mix(0.9, 0.1, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent04",
        name: "浙江瑞丰化工有限公司",
        industry: "C26 化学原料和化学制品制造业",
        operation: Operation {
            overhaul: Some((9, 15, 14)),
            day_noise: 0.02,
            ..Operation::continuous(&[])
        }
        .spring_festival(0, 0, 0.92, 0),
        nodes: vec![
            ("ws1", "合成车间", "workshop"),
            ("ws2", "精馏车间", "workshop"),
            ("ws3", "包装车间", "workshop"),
            ("tank", "罐区", "site"),
            ("util", "公用工程", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "reactor1.elec",
                "合成一线用电",
                Electricity,
                3.2e6,
                reactor,
            )
            .noise(0.02),
            meter(
                "ws1",
                "reactor2.elec",
                "合成二线用电",
                Electricity,
                3.0e6,
                reactor,
            )
            .noise(0.02),
            meter("ws1", "steam", "合成工段蒸汽", Steam, 56_000.0, reactor),
            meter(
                "ws1",
                "gas",
                "合成工段加热炉天然气",
                NaturalGas,
                2.5e6,
                reactor,
            )
            .noise(0.02),
            meter("ws2", "elec", "精馏车间用电", Electricity, 2.2e6, reactor).noise(0.02),
            meter(
                "ws2",
                "steam",
                "精馏蒸汽",
                Steam,
                70_000.0,
                mix(0.85, 0.1, 0.0, 0.0, 0.05),
            ),
            meter(
                "ws3",
                "elec",
                "包装车间用电",
                Electricity,
                0.5e6,
                mix(0.5, 0.0, 0.5, 0.0, 0.0),
            ),
            meter(
                "tank",
                "elec",
                "罐区用电",
                Electricity,
                0.4e6,
                mix(0.0, 0.8, 0.2, 0.0, 0.0),
            ),
            meter(
                "util",
                "cw.elec",
                "循环水站功率",
                Electricity,
                2.5e6,
                mix(0.5, 0.2, 0.0, 0.3, 0.0),
            )
            .power(),
            meter(
                "util",
                "chiller.elec",
                "冷冻站用电",
                Electricity,
                2.8e6,
                mix(0.5, 0.0, 0.0, 0.5, 0.0),
            ),
            meter(
                "util",
                "air.elec",
                "空压站用电",
                Electricity,
                1.6e6,
                reactor,
            ),
            meter("util", "air", "压缩空气", CompressedAir, 14.0e6, reactor),
            meter(
                "util",
                "water",
                "工业新水表",
                Water,
                350_000.0,
                mix(0.7, 0.1, 0.0, 0.2, 0.0),
            )
            .register(210_544.20),
            meter(
                "util",
                "gas",
                "导热油炉天然气",
                NaturalGas,
                1.0e6,
                mix(0.8, 0.0, 0.0, 0.0, 0.2),
            ),
            pv("ws3", "包装车间屋顶光伏", 800.0),
            output("t", 2, "化工产品产量", 60_000.0),
            value_added(18_000.0),
        ],
    }
}

fn food() -> EnterpriseDef {
    let line = mix(0.85, 0.15, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent05",
        name: "绍兴味源食品有限公司",
        industry: "C14 食品制造业",
        operation: Operation {
            monthly: [
                1.3, 0.55, 0.7, 0.75, 0.8, 0.75, 0.7, 0.75, 0.95, 1.1, 1.3, 1.45,
            ],
            ..Operation::shifts(&[(7.0, 19.0)], &[(11.5, 12.0), (17.0, 17.5)], 0.7, 0.2, 0.1)
        }
        .spring_festival(-3, 7, 0.0, 4),
        nodes: vec![
            ("ws1", "水饺车间", "workshop"),
            ("ws2", "汤圆车间", "workshop"),
            ("ws3", "速冻车间", "workshop"),
            ("cold", "低温冷库", "site"),
            ("boiler", "锅炉房", "site"),
            ("office", "办公及宿舍楼", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "line1.elec",
                "水饺一线用电",
                Electricity,
                0.35e6,
                line,
            )
            .noise(0.05),
            meter(
                "ws1",
                "line2.elec",
                "水饺二线用电",
                Electricity,
                0.33e6,
                line,
            )
            .noise(0.05),
            meter("ws1", "water", "生产用水", Water, 90_000.0, line).noise(0.06),
            meter("ws2", "elec", "汤圆车间用电", Electricity, 0.4e6, line).noise(0.05),
            meter(
                "ws3",
                "tunnel1.elec",
                "一号速冻隧道用电",
                Electricity,
                0.6e6,
                mix(0.8, 0.1, 0.0, 0.1, 0.0),
            ),
            meter(
                "ws3",
                "tunnel2.elec",
                "二号速冻隧道用电",
                Electricity,
                0.55e6,
                mix(0.8, 0.1, 0.0, 0.1, 0.0),
            ),
            meter(
                "cold",
                "elec",
                "冷库制冷机组用电",
                Electricity,
                1.2e6,
                mix(0.0, 0.55, 0.0, 0.45, 0.0),
            ),
            meter(
                "boiler",
                "gas",
                "蒸汽锅炉天然气表",
                NaturalGas,
                450_000.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .replaced(1_204_551.30, (6, 18, 10), 12.40),
            meter(
                "boiler",
                "water",
                "锅炉补水",
                Water,
                8_000.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .noise(0.08),
            meter(
                "office",
                "elec",
                "办公及宿舍用电",
                Electricity,
                0.35e6,
                OFFICE,
            ),
            pv("cold", "冷库屋顶光伏", 600.0),
            output("t", 2, "速冻食品产量", 25_000.0),
            value_added(4_200.0),
        ],
    }
}

fn pharma() -> EnterpriseDef {
    let line = mix(0.85, 0.15, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent06",
        name: "浙江康宁制药有限公司",
        industry: "C27 医药制造业",
        operation: Operation::shifts(&[(8.0, 20.0)], MEALS_2, 0.3, 0.05, 0.05)
            .spring_festival(-3, 3, 0.05, 3),
        nodes: vec![
            ("ws1", "原料药车间", "workshop"),
            ("ws2", "固体制剂车间", "workshop"),
            ("ws3", "注射剂车间", "workshop"),
            ("qc", "质检中心", "site"),
            ("util", "动力中心", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "elec",
                "原料药车间用电",
                Electricity,
                1.0e6,
                mix(0.7, 0.3, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws1",
                "steam",
                "原料药蒸汽",
                Steam,
                19_600.0,
                mix(0.6, 0.2, 0.0, 0.0, 0.2),
            ),
            meter("ws2", "elec", "固体制剂生产用电", Electricity, 0.7e6, line),
            meter(
                "ws2",
                "hvac.elec",
                "固体制剂净化空调用电",
                Electricity,
                1.3e6,
                mix(0.0, 0.55, 0.0, 0.3, 0.15),
            )
            .noise(0.02),
            meter("ws3", "elec", "注射剂生产用电", Electricity, 0.6e6, line),
            meter(
                "ws3",
                "hvac.elec",
                "注射剂净化空调功率",
                Electricity,
                1.6e6,
                mix(0.0, 0.6, 0.0, 0.3, 0.1),
            )
            .power(),
            meter(
                "ws3",
                "steam",
                "注射剂灭菌蒸汽",
                Steam,
                9_800.0,
                mix(0.9, 0.1, 0.0, 0.0, 0.0),
            )
            .noise(0.08),
            meter(
                "ws3",
                "water",
                "制水站用水表",
                Water,
                45_000.0,
                mix(0.7, 0.3, 0.0, 0.0, 0.0),
            )
            .register(36_207.81),
            pv("ws2", "固体制剂车间屋顶光伏", 900.0),
            meter(
                "qc",
                "elec",
                "质检中心用电",
                Electricity,
                0.4e6,
                mix(0.0, 0.2, 0.6, 0.2, 0.0),
            ),
            meter(
                "util",
                "chiller.elec",
                "冷冻站用电",
                Electricity,
                1.2e6,
                mix(0.0, 0.3, 0.0, 0.7, 0.0),
            ),
            meter("util", "air.elec", "空压机用电", Electricity, 0.4e6, line),
            meter("util", "air", "压缩空气", CompressedAir, 3.5e6, line),
            meter(
                "util",
                "heat",
                "冬季供暖热水",
                Heat,
                9_000.0,
                mix(0.0, 0.0, 0.0, 0.0, 1.0),
            ),
            meter(
                "util",
                "steam",
                "净化空调加湿及再热蒸汽",
                Steam,
                11_200.0,
                mix(0.0, 0.5, 0.0, 0.0, 0.5),
            ),
            output("pcs", 0, "制剂产量", 450_000_000.0),
            value_added(22_000.0),
        ],
    }
}

fn cold_chain() -> EnterpriseDef {
    let cold = mix(0.0, 0.6, 0.0, 0.4, 0.0);
    EnterpriseDef {
        key: "ent07",
        name: "绍兴鲜达冷链物流有限公司",
        industry: "G59 装卸搬运和仓储业",
        operation: Operation {
            monthly: [
                1.35, 0.8, 0.9, 0.9, 0.95, 1.0, 1.0, 1.0, 1.05, 1.05, 1.1, 1.3,
            ],
            // Electric forklifts charge overnight.
            alt_shifts: Some(schedule(&[(0.0, 6.0), (22.0, 24.0)], &[])),
            ..Operation::shifts(&[(6.0, 22.0)], &[(12.0, 12.5)], 0.95, 0.85, 0.7)
        }
        .spring_festival(0, 2, 0.3, 3),
        nodes: vec![
            ("cold1", "一号冷冻库(-18℃)", "site"),
            ("cold2", "二号深冷库(-25℃)", "site"),
            ("chill", "冷藏库(0~4℃)", "site"),
            ("dock", "装卸月台", "site"),
            ("office", "综合楼", "site"),
        ],
        meters: vec![
            meter(
                "cold1",
                "elec",
                "一号冷冻库制冷电表",
                Electricity,
                1.3e6,
                cold,
            )
            .register(3_815_206.70),
            meter(
                "cold2",
                "elec",
                "二号深冷库制冷用电",
                Electricity,
                1.4e6,
                cold,
            ),
            meter(
                "chill",
                "elec",
                "冷藏库制冷用电",
                Electricity,
                0.8e6,
                mix(0.0, 0.5, 0.0, 0.5, 0.0),
            ),
            meter(
                "dock",
                "elec",
                "月台及照明用电",
                Electricity,
                0.4e6,
                mix(0.7, 0.0, 0.3, 0.0, 0.0),
            ),
            meter(
                "dock",
                "charging.elec",
                "电动叉车充电",
                Electricity,
                0.25e6,
                Mix {
                    alt: 0.9,
                    flat: 0.1,
                    ..Mix::default()
                },
            ),
            meter(
                "dock",
                "diesel",
                "内燃叉车柴油",
                Diesel,
                37_800.0,
                mix(1.0, 0.0, 0.0, 0.0, 0.0),
            )
            .daily(),
            meter(
                "dock",
                "water",
                "冲洗及生活用水",
                Water,
                12_000.0,
                mix(0.7, 0.0, 0.3, 0.0, 0.0),
            )
            .noise(0.1),
            meter("office", "elec", "综合楼用电", Electricity, 0.2e6, OFFICE),
            pv("cold1", "冷库屋顶光伏", 2500.0),
            output("t", 2, "货物吞吐量", 180_000.0),
            value_added(3_500.0),
        ],
    }
}

fn data_centre() -> EnterpriseDef {
    let it = mix(0.0, 1.0, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent08",
        name: "数绿云计算数据中心",
        industry: "I65 软件和信息技术服务业",
        operation: Operation {
            day_noise: 0.01,
            ..Operation::continuous(&[])
        },
        nodes: vec![
            ("hall1", "一号机房楼", "site"),
            ("hall2", "二号机房楼", "site"),
            ("cooling", "制冷站", "site"),
            ("power", "变配电及UPS", "site"),
            ("office", "运维楼", "site"),
        ],
        meters: vec![
            meter(
                "hall1",
                "it.elec",
                "一号楼IT负载用电",
                Electricity,
                9.0e6,
                it,
            )
            .noise(0.01),
            meter(
                "hall2",
                "it.elec",
                "二号楼IT负载用电",
                Electricity,
                8.0e6,
                it,
            )
            .noise(0.01)
            .step(5, 1.3),
            meter(
                "cooling",
                "chiller1.elec",
                "一号冷水机组功率",
                Electricity,
                1.6e6,
                mix(0.0, 0.35, 0.0, 0.65, 0.0),
            )
            .power(),
            meter(
                "cooling",
                "chiller2.elec",
                "二号冷水机组用电",
                Electricity,
                1.5e6,
                mix(0.0, 0.35, 0.0, 0.65, 0.0),
            ),
            meter(
                "cooling",
                "tower.elec",
                "冷却塔风机用电",
                Electricity,
                0.5e6,
                mix(0.0, 0.3, 0.0, 0.7, 0.0),
            ),
            meter(
                "cooling",
                "pump.elec",
                "冷冻及冷却水泵用电",
                Electricity,
                0.9e6,
                mix(0.0, 0.6, 0.0, 0.4, 0.0),
            )
            .noise(0.015),
            meter(
                "cooling",
                "water",
                "冷却塔补水表",
                Water,
                120_000.0,
                mix(0.0, 0.3, 0.0, 0.7, 0.0),
            )
            .register(402_117.93),
            meter("power", "ups.elec", "UPS及配电损耗", Electricity, 1.1e6, it).noise(0.01),
            meter("office", "elec", "运维楼用电", Electricity, 0.2e6, OFFICE),
            pv("office", "运维楼屋顶光伏", 400.0),
            output("pcs", 0, "在用机柜(架·天)", 292_000.0)
                .noise(0.005)
                .step(5, 1.2),
            value_added(8_000.0),
        ],
    }
}

fn auto_parts() -> EnterpriseDef {
    let cnc = mix(0.85, 0.15, 0.0, 0.0, 0.0);
    EnterpriseDef {
        key: "ent09",
        name: "浙江精工汽车零部件有限公司",
        industry: "C36 汽车制造业",
        operation: Operation::shifts(
            &[(0.0, 24.0)],
            &[
                (7.75, 8.25),
                (11.5, 12.0),
                (17.5, 18.0),
                (19.75, 20.25),
                (0.0, 0.5),
            ],
            1.0,
            0.1,
            0.05,
        )
        .spring_festival(-5, 5, 0.02, 5),
        nodes: vec![
            ("ws1", "机加工一车间", "workshop"),
            ("ws2", "机加工二车间", "workshop"),
            ("ws3", "热处理车间", "workshop"),
            ("ws4", "装配车间", "workshop"),
            ("util", "动力站", "site"),
            ("office", "办公楼", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "cnc1.elec",
                "数控加工一线用电",
                Electricity,
                1.2e6,
                cnc,
            )
            .noise(0.05),
            meter(
                "ws1",
                "cnc2.elec",
                "数控加工二线用电",
                Electricity,
                1.1e6,
                cnc,
            )
            .noise(0.05),
            meter(
                "ws1",
                "cnc3.elec",
                "数控加工三线用电",
                Electricity,
                1.0e6,
                cnc,
            )
            .noise(0.05),
            meter(
                "ws2",
                "cnc1.elec",
                "加工中心一线用电",
                Electricity,
                1.3e6,
                cnc,
            )
            .noise(0.05),
            meter(
                "ws2",
                "cnc2.elec",
                "加工中心二线用电",
                Electricity,
                1.2e6,
                cnc,
            )
            .noise(0.05),
            meter(
                "ws3",
                "furnace.elec",
                "网带炉用电",
                Electricity,
                1.2e6,
                mix(0.6, 0.4, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws3",
                "gas",
                "热处理天然气",
                NaturalGas,
                0.8e6,
                mix(0.6, 0.4, 0.0, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "elec",
                "装配线用电",
                Electricity,
                0.6e6,
                mix(0.7, 0.0, 0.3, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "diesel",
                "叉车柴油",
                Diesel,
                15_120.0,
                mix(1.0, 0.0, 0.0, 0.0, 0.0),
            )
            .daily(),
            meter(
                "util",
                "air.elec",
                "空压站用电",
                Electricity,
                1.5e6,
                mix(0.8, 0.2, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "air",
                "压缩空气",
                CompressedAir,
                13.0e6,
                mix(0.8, 0.2, 0.0, 0.0, 0.0),
            ),
            meter(
                "util",
                "water",
                "用水",
                Water,
                50_000.0,
                mix(0.6, 0.1, 0.3, 0.0, 0.0),
            ),
            meter("office", "elec", "办公楼用电", Electricity, 0.5e6, OFFICE),
            pv("ws2", "机加工车间屋顶光伏", 1800.0),
            output("pcs", 0, "零部件产量", 3_600_000.0),
            value_added(12_000.0),
        ],
    }
}

fn building_materials() -> EnterpriseDef {
    let kiln = mix(0.95, 0.05, 0.0, 0.0, 0.0);
    let mill = Mix {
        alt: 0.95,
        flat: 0.05,
        ..Mix::default()
    };
    EnterpriseDef {
        key: "ent10",
        name: "绍兴华建新型建材有限公司",
        industry: "C30 非金属矿物制品业",
        operation: Operation {
            // Raw mills grind in the valley-tariff hours (22:00-08:00 and 11:00-13:00).
            alt_shifts: Some(schedule(&[(0.0, 8.0), (11.0, 13.0), (22.0, 24.0)], &[])),
            monthly: [
                0.85, 0.5, 1.0, 1.1, 1.1, 0.9, 0.8, 0.85, 1.05, 1.15, 1.15, 1.0,
            ],
            ..Operation::continuous(&[])
        }
        .spring_festival(-10, 10, 0.15, 5),
        nodes: vec![
            ("ws1", "原料粉磨车间", "workshop"),
            ("ws2", "回转窑车间", "workshop"),
            ("ws3", "石灰竖窑车间", "workshop"),
            ("ws4", "成品包装车间", "workshop"),
            ("util", "公用设施", "site"),
        ],
        meters: vec![
            meter(
                "ws1",
                "mill1.elec",
                "一号原料磨用电",
                Electricity,
                1.5e6,
                mill,
            )
            .noise(0.04),
            meter(
                "ws1",
                "mill2.elec",
                "二号原料磨用电",
                Electricity,
                1.4e6,
                mill,
            )
            .noise(0.04),
            meter(
                "ws1",
                "crusher.elec",
                "破碎机用电",
                Electricity,
                0.6e6,
                mill,
            )
            .noise(0.06),
            meter(
                "ws2",
                "kiln.elec",
                "回转窑主传动及风机用电",
                Electricity,
                1.8e6,
                kiln,
            ),
            meter(
                "ws2",
                "coal",
                "回转窑燃煤(烟煤)皮带秤",
                CoalBituminous,
                24_000.0,
                kiln,
            )
            .noise(0.05),
            meter("ws2", "coalmill.elec", "煤磨用电", Electricity, 0.5e6, mill),
            meter("ws3", "coke", "竖窑焦炭", Coke, 4_500.0, kiln).daily(),
            meter("ws3", "elec", "竖窑用电", Electricity, 0.5e6, kiln),
            meter(
                "ws4",
                "elec",
                "成品包装用电",
                Electricity,
                0.4e6,
                mix(0.5, 0.0, 0.5, 0.0, 0.0),
            ),
            meter(
                "ws4",
                "diesel",
                "装载机柴油",
                Diesel,
                67_200.0,
                mix(0.3, 0.0, 0.7, 0.0, 0.0),
            )
            .daily(),
            meter(
                "util",
                "water",
                "用水",
                Water,
                60_000.0,
                mix(0.7, 0.3, 0.0, 0.0, 0.0),
            ),
            pv("ws4", "成品仓库屋顶光伏", 700.0),
            output("t", 2, "建材产品产量", 400_000.0),
            value_added(5_000.0),
        ],
    }
}
