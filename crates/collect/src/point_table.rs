//! The point table (点表): one CSV row per point of a device.
//!
//! Columns (header names in English or Chinese, any order; only `device`, `point`, `address` and
//! `meter` are required): `device` (设备), `point` (点名), `address` (地址; `di`/数据标识 for
//! DL/T 645), `function` (功能码), `type` (数据类型), `order` (字节序), `scale` (倍率), `offset`
//! (偏移), `unit` (单位), `min` (下限), `max` (上限), `meter` (表计), `kind` (读数类型).
//!
//! Address convention: with a `function` (1, 2, 3 or 4), `address` is the 0-based protocol
//! address as sent on the wire (decimal, or hex `0x…`). Without a function, `address` must be in
//! Modicon notation, whose first digit gives the function and whose rest is 1-based: `40001` or
//! `400001` is holding register 0 (function 3), `30001` input register 0 (4), `10001` discrete
//! input 0 (2), `00001` coil 0 (1).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::decode::{ByteOrder, DataType};
use crate::problem::Problem;

/// A Modbus read function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Function {
    /// 1: read coils.
    Coils = 1,
    /// 2: read discrete inputs.
    DiscreteInputs = 2,
    /// 3: read holding registers.
    Holding = 3,
    /// 4: read input registers.
    Input = 4,
}

impl Function {
    /// True for the bit functions (1 and 2).
    pub fn is_bits(self) -> bool {
        matches!(self, Function::Coils | Function::DiscreteInputs)
    }

    /// The function code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// From a function code.
    pub fn from_code(code: u8) -> Option<Function> {
        match code {
            1 => Some(Function::Coils),
            2 => Some(Function::DiscreteInputs),
            3 => Some(Function::Holding),
            4 => Some(Function::Input),
            _ => None,
        }
    }
}

/// What the reading kind of a point is (informative: the server's meter decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// A register that only grows (energy index): preferred for energy.
    Cumulative,
    /// A rate or state (power, voltage, temperature).
    Instantaneous,
}

/// How a point is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Modbus registers or bits.
    Modbus {
        /// Read function.
        function: Function,
        /// 0-based protocol address of the first register or bit.
        address: u16,
        /// Data type.
        ty: DataType,
        /// Byte and word order.
        order: ByteOrder,
    },
    /// DL/T 645-2007 data identifier (数据标识), e.g. `0x00010000` for 正向有功总电能.
    Dlt645(u32),
}

/// One point of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Name, unique within the device.
    pub name: String,
    /// Line in the point table (for messages).
    pub line: usize,
    /// Where the value comes from.
    pub source: Source,
    /// Value = raw × scale + offset.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
    /// Unit after scaling (sent as the `unit` tag when given).
    pub unit: String,
    /// Declared lowest plausible value (after scaling).
    pub min: Option<f64>,
    /// Declared highest plausible value (after scaling).
    pub max: Option<f64>,
    /// The shulv meter id the value is written to.
    pub meter: String,
    /// Reading kind, if declared.
    pub kind: Option<PointKind>,
}

const COLUMNS: [(&str, &[&str]); 13] = [
    ("device", &["设备", "设备名"]),
    ("point", &["点名", "名称", "name"]),
    ("address", &["地址", "寄存器地址", "di", "数据标识"]),
    ("function", &["功能码", "fc"]),
    ("type", &["数据类型", "类型"]),
    ("order", &["字节序", "byte_order"]),
    ("scale", &["倍率", "系数"]),
    ("offset", &["偏移"]),
    ("unit", &["单位"]),
    ("min", &["下限", "最小值"]),
    ("max", &["上限", "最大值"]),
    ("meter", &["表计", "计量点"]),
    ("kind", &["读数类型"]),
];

/// The column a header cell names, if any.
fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim().to_ascii_lowercase();
    COLUMNS
        .iter()
        .find(|(name, aliases)| *name == h || aliases.iter().any(|a| *a == h))
        .map(|(name, _)| *name)
}

/// Parses a Modbus address: 0-based with a function, or Modicon notation without one; returns
/// the function and the 0-based address.
pub fn modbus_address(text: &str, function: Option<Function>) -> Result<(Function, u16), String> {
    let t = text.trim();
    if let Some(f) = function {
        let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => t.parse::<u32>(),
        }
        .map_err(|_| format!("{t:?} is not a register address"))?;
        let address = u16::try_from(n)
            .map_err(|_| format!("{n} is above 65535 (with a function the address is 0-based)"))?;
        return Ok((f, address));
    }
    if !(t.len() == 5 || t.len() == 6) || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{t:?}: without a function the address must be Modicon notation (40001, 30001, 10001, \
             00001 or 6 digits); or give the function (3/4/1/2) and a 0-based address"
        ));
    }
    let function = match t.as_bytes()[0] {
        b'0' => Function::Coils,
        b'1' => Function::DiscreteInputs,
        b'3' => Function::Input,
        b'4' => Function::Holding,
        _ => return Err(format!("{t:?}: Modicon addresses start with 0, 1, 3 or 4")),
    };
    let reference: u32 = t[1..].parse().unwrap_or(0);
    if reference == 0 || reference > 65536 {
        return Err(format!(
            "{t:?}: Modicon reference {reference} is outside 1..=65536"
        ));
    }
    Ok((function, (reference - 1) as u16))
}

/// Parses a DL/T 645 data identifier written most significant byte first, as in the standard's
/// tables: `00010000`, `00 01 00 00` or `0x00010000`.
fn data_identifier(text: &str) -> Result<u32, String> {
    let t: String = text
        .trim()
        .trim_start_matches("0x")
        .split_whitespace()
        .collect();
    if t.len() != 8 {
        return Err(format!(
            "{text:?} is not a data identifier (8 hex digits, e.g. 00010000)"
        ));
    }
    let di = u32::from_str_radix(&t, 16)
        .map_err(|_| format!("{text:?} is not a data identifier (hex)"))?;
    match shulv_dlt645::lookup(shulv_dlt645::Di(di)) {
        Some(_) => Ok(di),
        None => Err(format!(
            "data identifier {di:08X} is not in the table of standard identifiers (see the \
             shulv-dlt645 README)"
        )),
    }
}

fn function_of(text: &str) -> Result<Function, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "01" | "coil" | "coils" => Ok(Function::Coils),
        "2" | "02" | "discrete" | "discrete_input" => Ok(Function::DiscreteInputs),
        "3" | "03" | "holding" => Ok(Function::Holding),
        "4" | "04" | "input" => Ok(Function::Input),
        _ => Err(format!(
            "unknown function {text:?} (expected 3 holding, 4 input, 1 coil or 2 discrete)"
        )),
    }
}

fn kind_of(text: &str) -> Result<PointKind, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cumulative" | "累计" | "累计值" => Ok(PointKind::Cumulative),
        "instantaneous" | "瞬时" | "瞬时值" => Ok(PointKind::Instantaneous),
        _ => Err(format!(
            "unknown kind {text:?} (expected cumulative or instantaneous)"
        )),
    }
}

fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a number")),
    }
}

/// One row being read: its cells by column, and the problems found.
struct Row<'a> {
    file: &'a Path,
    line: usize,
    cells: BTreeMap<&'static str, (usize, &'a str)>,
    problems: &'a mut Vec<Problem>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |(_, v)| v.trim())
    }

    fn error(&mut self, column: &str, message: String) {
        let index = self.cells.get(column).map_or(0, |(i, _)| i + 1);
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line: self.line,
            column: index,
            message: format!("column {column}: {message}"),
        });
    }

    /// The parsed cell, or None (empty, or an error recorded).
    fn parse<T>(&mut self, column: &str, f: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let text = self.get(column).to_string();
        if text.is_empty() {
            return None;
        }
        match f(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(column, e);
                None
            }
        }
    }
}

/// Parses the point table `text` (from `file`) for the devices in `devices` (name → true for a
/// DL/T 645 device). Returns the points by device and every problem found.
pub fn parse(
    file: &Path,
    text: &str,
    devices: &BTreeMap<String, bool>,
) -> (BTreeMap<String, Vec<Point>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::file(file, format!("cannot read the header: {e}")));
            return (out, problems);
        }
    };
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let column = column_of(h);
        let at = |message: String| Problem {
            file: file.to_path_buf(),
            line: 1,
            column: i + 1,
            message,
        };
        match column {
            None => problems.push(at(format!(
                "unknown column {h:?} (expected {})",
                COLUMNS.map(|(n, _)| n).join(", ")
            ))),
            Some(c) if columns.contains(&Some(c)) => {
                problems.push(at(format!("column {c} appears twice ({h:?})")))
            }
            Some(_) => {}
        }
        columns.push(column);
    }
    for required in ["device", "point", "address", "meter"] {
        if !columns.contains(&Some(required)) {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: 1,
                column: 0,
                message: format!("missing column {required}"),
            });
        }
    }
    if !problems.is_empty() {
        return (out, problems);
    }

    let mut names = BTreeSet::new();
    let mut meters: BTreeMap<String, usize> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(Problem {
                    file: file.to_path_buf(),
                    line,
                    column: 0,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() > columns.len() {
            problems.push(Problem {
                file: file.to_path_buf(),
                line,
                column: columns.len() + 1,
                message: format!("{} cells for {} columns", record.len(), columns.len()),
            });
            continue;
        }
        let mut row = Row {
            file,
            line,
            cells: record
                .iter()
                .enumerate()
                .filter_map(|(i, v)| columns[i].map(|c| (c, (i, v))))
                .collect(),
            problems: &mut problems,
        };
        for (i, c) in columns.iter().enumerate() {
            row.cells.entry(c.expect("checked")).or_insert((i, ""));
        }
        if let Some(point) = parse_row(&mut row, devices, &mut names, &mut meters) {
            out.entry(row.get("device").to_string())
                .or_default()
                .push(point);
        }
    }
    (out, problems)
}

fn parse_row(
    row: &mut Row<'_>,
    devices: &BTreeMap<String, bool>,
    names: &mut BTreeSet<(String, String)>,
    meters: &mut BTreeMap<String, usize>,
) -> Option<Point> {
    let before = row.problems.len();
    let device = row.get("device").to_string();
    let dlt645 = match devices.get(&device) {
        Some(d) => *d,
        None => {
            let message = if device.is_empty() {
                "empty".to_string()
            } else {
                format!("no device named {device:?} in the configuration")
            };
            row.error("device", message);
            return None;
        }
    };
    let name = row.get("point").to_string();
    if name.is_empty() {
        row.error("point", "empty".into());
    } else if !names.insert((device.clone(), name.clone())) {
        row.error(
            "point",
            format!("device {device:?} already has a point {name:?}"),
        );
    }
    let meter = row.get("meter").to_string();
    if meter.is_empty() {
        row.error(
            "meter",
            "empty (the shulv meter id the value is written to)".into(),
        );
    } else if meter.contains(char::is_whitespace) {
        row.error("meter", format!("{meter:?} contains a space"));
    } else if let Some(first) = meters.insert(meter.clone(), row.line) {
        row.error(
            "meter",
            format!("{meter:?} is already the meter of line {first}"),
        );
    }

    let source = if dlt645 {
        for column in ["function", "type", "order"] {
            if !row.get(column).is_empty() {
                row.error(
                    column,
                    "not used by DL/T 645 points (the standard fixes the format)".into(),
                );
            }
        }
        row.parse("address", data_identifier).map(Source::Dlt645)
    } else {
        let function = row.parse("function", function_of);
        let given_function = !row.get("function").is_empty();
        let parsed = if given_function && function.is_none() {
            None
        } else if row.get("address").is_empty() {
            row.error("address", "empty".into());
            None
        } else {
            row.parse("address", |t| modbus_address(t, function))
        };
        let ty = row.parse("type", |t| t.parse::<DataType>());
        let order = row
            .parse("order", |t| t.parse::<ByteOrder>())
            .unwrap_or(ByteOrder::Abcd);
        match parsed {
            Some((function, address)) => {
                let ty = match ty {
                    Some(ty) => ty,
                    None if row.get("type").is_empty() && function.is_bits() => DataType::Bit,
                    None if row.get("type").is_empty() => DataType::U16,
                    None => return None,
                };
                if function.is_bits() != (ty == DataType::Bit) {
                    row.error(
                        "type",
                        format!(
                            "{ty} does not go with function {} (bit for 1 and 2 only)",
                            function.code()
                        ),
                    );
                }
                if u32::from(address) + u32::from(ty.width()) > 65536 {
                    row.error(
                        "address",
                        format!("a {ty} at {address} runs past register 65535"),
                    );
                }
                Some(Source::Modbus {
                    function,
                    address,
                    ty,
                    order,
                })
            }
            None => None,
        }
    };
    let scale = row.parse("scale", number).unwrap_or(1.0);
    if scale == 0.0 {
        row.error("scale", "0 would make every reading 0".into());
    }
    let offset = row.parse("offset", number).unwrap_or(0.0);
    let min = row.parse("min", number);
    let max = row.parse("max", number);
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            row.error("max", format!("{hi} is below min {lo}"));
        }
    }
    let kind = row.parse("kind", kind_of);
    if row.problems.len() > before {
        return None;
    }
    Some(Point {
        name,
        line: row.line,
        source: source?,
        scale,
        offset,
        unit: row.get("unit").to_string(),
        min,
        max,
        meter,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> BTreeMap<String, bool> {
        [("pm1".to_string(), false), ("em1".to_string(), true)].into()
    }

    fn parse_ok(text: &str) -> BTreeMap<String, Vec<Point>> {
        let (points, problems) = parse(Path::new("p.csv"), text, &devices());
        assert!(problems.is_empty(), "{problems:?}");
        points
    }

    fn errors(text: &str) -> Vec<String> {
        let (_, problems) = parse(Path::new("p.csv"), text, &devices());
        problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn zero_based_and_modicon_addresses() {
        let points = parse_ok(
            "device,point,address,function,type,meter\n\
             pm1,a,0,3,u16,m.a\n\
             pm1,b,0x10,4,i32,m.b\n\
             pm1,c,40001,,f32,m.c\n\
             pm1,d,300100,,u16,m.d\n\
             pm1,e,10005,,,m.e\n\
             pm1,f,00001,,,m.f\n\
             pm1,g,40001,3,u16,m.g\n",
        );
        let src: Vec<(Function, u16)> = points["pm1"]
            .iter()
            .map(|p| match p.source {
                Source::Modbus {
                    function, address, ..
                } => (function, address),
                Source::Dlt645(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            src,
            vec![
                (Function::Holding, 0),
                (Function::Input, 16),
                (Function::Holding, 0),
                (Function::Input, 99),
                (Function::DiscreteInputs, 4),
                (Function::Coils, 0),
                // With a function the address is 0-based, even if it looks like Modicon.
                (Function::Holding, 40001),
            ]
        );
    }

    #[test]
    fn chinese_headers_defaults_and_dlt645() {
        let points = parse_ok(
            "设备,点名,地址,数据类型,字节序,倍率,单位,表计,读数类型\n\
             pm1,有功电能,40001,u32,CDAB,0.01,kWh,m.kwh,累计\n\
             em1,正向有功总电能,00 01 00 00,,,,kWh,m.em1,cumulative\n",
        );
        let p = &points["pm1"][0];
        assert_eq!(p.scale, 0.01);
        assert_eq!(p.kind, Some(PointKind::Cumulative));
        assert_eq!(
            p.source,
            Source::Modbus {
                function: Function::Holding,
                address: 0,
                ty: DataType::U32,
                order: ByteOrder::Cdab
            }
        );
        assert_eq!(points["em1"][0].source, Source::Dlt645(0x0001_0000));
        assert_eq!(points["em1"][0].line, 3);
    }

    #[test]
    fn every_row_error_names_line_and_column() {
        let errs = errors(
            "device,point,address,function,type,order,scale,min,max,meter\n\
             pm1,a,100,,u16,,,,,m.a\n\
             pm1,b,0,7,u16,,,,,m.b\n\
             pm1,c,0,3,f32,XYZW,abc,,,m.c\n\
             pm1,d,0,1,u16,,,10,5,m.d\n\
             pm1,d,1,3,u16,,,,,m.a\n\
             em1,e,0001,3,,,,,,m.e\n\
             xx,f,0,3,u16,,,,,m.f\n\
             pm1,g,70000,3,u16,,,,,m.g,extra\n",
        );
        let expect = [
            "p.csv:2:3: column address: \"100\": without a function",
            "p.csv:3:4: column function: unknown function",
            "p.csv:4:6: column order: unknown byte order",
            "p.csv:4:7: column scale:",
            "p.csv:5:5: column type: u16 does not go with function 1",
            "p.csv:5:9: column max: 5 is below min 10",
            "p.csv:6:2: column point: device \"pm1\" already has a point \"d\"",
            "p.csv:6:10: column meter: \"m.a\" is already the meter of line 2",
            "p.csv:7:4: column function: not used by DL/T 645",
            "p.csv:7:3: column address: \"0001\" is not a data identifier",
            "p.csv:8:1: column device: no device named \"xx\"",
            "p.csv:9:11: 11 cells for 10 columns",
        ];
        for e in expect {
            assert!(
                errs.iter().any(|t| t.starts_with(e)),
                "missing {e:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    }

    #[test]
    fn header_problems() {
        let errs = errors("device,point,register,meter\n");
        assert!(
            errs[0].starts_with("p.csv:1:3: unknown column \"register\""),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("missing column address")),
            "{errs:?}"
        );
    }
}
