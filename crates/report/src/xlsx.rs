//! The XLSX workbook: a summary sheet, the inventory lines, the energy lines, the meter data and
//! the factors, with each line's meter and factors as links to their rows.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, Url, Workbook, Worksheet, XlsxError};
use shulv_carbon::{FactorRef, Line};
use shulv_platform::Account;

use crate::labels::{scope_label, source_label, Labels, Lang};
use crate::{name_of, pins_of, ReportError};

/// Sheet names (ASCII, so internal links need no quoting rules beyond the plain name).
const SUMMARY: &str = "Summary";
const LINES: &str = "Lines";
const ENERGY: &str = "Energy";
const METERS: &str = "Meters";
const FACTORS: &str = "Factors";

struct Formats {
    bold: Format,
    tonnes: Format,
    small: Format,
    quantity: Format,
}

fn header(ws: &mut Worksheet, f: &Formats, titles: &[&str]) -> Result<(), XlsxError> {
    for (c, t) in titles.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *t, &f.bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The workbook of `account` in `lang`.
pub fn xlsx(account: &Account, lang: Lang) -> Result<Vec<u8>, ReportError> {
    let l = lang.labels();
    let f = Formats {
        bold: Format::new().set_bold(),
        tonnes: Format::new().set_num_format("#,##0.000"),
        small: Format::new().set_num_format("0.000000"),
        quantity: Format::new().set_num_format("#,##0.###"),
    };
    // Rows of the meter and factor sheets, for the links.
    let meter_rows: HashMap<&str, u32> = account
        .meters
        .iter()
        .enumerate()
        .map(|(i, m)| (m.meter.as_str(), i as u32 + 1))
        .collect();
    let factors = factors_of(account);
    let factor_rows: HashMap<(&str, u32), u32> = factors
        .iter()
        .enumerate()
        .map(|(i, f)| ((f.id.as_str(), f.version), i as u32 + 1))
        .collect();
    let links = Links {
        meters: &meter_rows,
        factors: &factor_rows,
    };

    let mut wb = Workbook::new();
    summary_sheet(wb.add_worksheet().set_name(SUMMARY)?, account, l, &f)?;
    let lines = wb.add_worksheet().set_name(LINES)?;
    let mut market: Vec<(&str, &Line)> = account.inventory.lines.iter().map(|x| ("", x)).collect();
    market.extend(
        account
            .inventory
            .scope2_market_lines
            .iter()
            .map(|x| (l.scope2_market, x)),
    );
    lines_sheet(lines, &market, lang, &f, &links)?;
    energy_sheet(wb.add_worksheet().set_name(ENERGY)?, account, l, &f, &links)?;
    meters_sheet(wb.add_worksheet().set_name(METERS)?, account, l, &f)?;
    factors_sheet(wb.add_worksheet().set_name(FACTORS)?, &factors, l, &f)?;
    Ok(wb.save_to_buffer()?)
}

struct Links<'a> {
    meters: &'a HashMap<&'a str, u32>,
    factors: &'a HashMap<(&'a str, u32), u32>,
}

impl Links<'_> {
    /// Writes `meter` as a link to its row of the meter sheet (plain text if it has none).
    fn meter(&self, ws: &mut Worksheet, row: u32, col: u16, meter: &str) -> Result<(), XlsxError> {
        match self.meters.get(meter) {
            Some(r) => ws.write_url_with_text(
                row,
                col,
                Url::new(format!("internal:{METERS}!A{}", r + 1)),
                meter,
            )?,
            None => ws.write_string(row, col, meter)?,
        };
        Ok(())
    }

    /// Writes the first factor as a link to its row (the others are named after it).
    fn factors(
        &self,
        ws: &mut Worksheet,
        row: u32,
        col: u16,
        factors: &[&FactorRef],
    ) -> Result<(), XlsxError> {
        let text: Vec<String> = factors
            .iter()
            .map(|f| format!("{} v{}", f.id, f.version))
            .collect();
        let text = text.join("; ");
        match factors
            .first()
            .and_then(|f| self.factors.get(&(f.id.as_str(), f.version)))
        {
            Some(r) => ws.write_url_with_text(
                row,
                col,
                Url::new(format!("internal:{FACTORS}!A{}", r + 1)),
                text,
            )?,
            None => ws.write_string(row, col, text)?,
        };
        Ok(())
    }
}

/// Every factor of the inventory and of the energy account, once.
fn factors_of(account: &Account) -> Vec<FactorRef> {
    let mut all: Vec<FactorRef> = account.inventory.factors_used.clone();
    for e in &account.energy.lines {
        if !all
            .iter()
            .any(|f| f.id == e.coefficient.id && f.version == e.coefficient.version)
        {
            all.push(e.coefficient.clone());
        }
    }
    all
}

fn summary_sheet(
    ws: &mut Worksheet,
    account: &Account,
    l: &Labels,
    f: &Formats,
) -> Result<(), XlsxError> {
    let inv = &account.inventory;
    let s = &inv.settings;
    ws.set_column_width(0, 48)?;
    ws.set_column_width(1, 60)?;
    ws.write_string_with_format(0, 0, l.title, &f.bold)?;
    let mut row = 2;
    let mut text = |ws: &mut Worksheet, label: &str, value: String| -> Result<(), XlsxError> {
        ws.write_string_with_format(row, 0, label, &f.bold)?;
        ws.write_string(row, 1, value)?;
        row += 1;
        Ok(())
    };
    text(ws, l.entity, format!("{} ({})", account.name, account.node))?;
    text(ws, l.period, account.period.clone())?;
    text(ws, l.timezone, account.timezone.clone())?;
    text(
        ws,
        l.regime,
        format!("{} — {}", name_of(&s.regime), inv.regime_description),
    )?;
    text(ws, l.caliber, name_of(&s.caliber))?;
    text(ws, l.grid, name_of(&s.grid))?;
    text(
        ws,
        l.electricity_year,
        s.electricity_year
            .map_or_else(|| l.latest.to_string(), |y| y.to_string()),
    )?;
    text(ws, l.gwp, name_of(&s.gwp))?;
    text(ws, l.pins, pins_of(s))?;
    text(
        ws,
        l.unconfirmed,
        if s.allow_unconfirmed {
            l.unconfirmed_yes
        } else {
            l.unconfirmed_no
        }
        .to_string(),
    )?;
    text(
        ws,
        l.electricity_convention,
        name_of(&account.energy.settings.electricity),
    )?;
    text(
        ws,
        l.natural_gas,
        name_of(&account.energy.settings.natural_gas),
    )?;
    row += 1;
    ws.write_string_with_format(row, 0, l.totals, &f.bold)?;
    ws.write_string_with_format(row, 1, l.value, &f.bold)?;
    ws.write_string_with_format(row, 2, l.unit, &f.bold)?;
    row += 1;
    let e = &account.energy;
    let totals = [
        (l.scope1, Some(inv.scope1.total_t), "tCO2e"),
        (
            l.scope2_location,
            Some(inv.scope2_location.total_t),
            "tCO2e",
        ),
        (
            l.scope2_market,
            inv.scope2_market.as_ref().map(|m| m.total_t),
            "tCO2e",
        ),
        (l.scope3, Some(inv.scope3.total_t), "tCO2e"),
        (l.total_location, Some(inv.total_location_t), "tCO2e"),
        (l.total_market, inv.total_market_t, "tCO2e"),
        (l.biogenic, Some(inv.biogenic_co2_t), "tCO2"),
        (l.own_generation, Some(inv.own_generation_kwh), "kWh"),
        (l.energy_total, Some(e.total_tce), "tce"),
        (l.energy_non_fossil, Some(e.excluding_non_fossil_tce), "tce"),
        (l.value_added, account.value_added_10k_yuan, "万元"),
        (
            l.carbon_intensity,
            account.carbon_intensity_t_per_10k_yuan,
            "tCO2e/万元",
        ),
        (
            l.energy_intensity,
            account.energy_intensity_tce_per_10k_yuan,
            "tce/万元",
        ),
    ];
    for (label, value, unit) in totals {
        if let Some(v) = value {
            ws.write_string(row, 0, label)?;
            ws.write_number_with_format(row, 1, v, &f.tonnes)?;
            ws.write_string(row, 2, unit)?;
            row += 1;
        }
    }
    row += 1;
    ws.write_string_with_format(row, 0, l.notes, &f.bold)?;
    row += 1;
    for n in std::iter::once(l.reproduce).chain(inv.notes.iter().map(String::as_str)) {
        ws.write_string(row, 0, n)?;
        row += 1;
    }
    ws.write_string(row + 1, 0, l.status_legend)?;
    Ok(())
}

fn lines_sheet(
    ws: &mut Worksheet,
    lines: &[(&str, &Line)],
    lang: Lang,
    f: &Formats,
    links: &Links<'_>,
) -> Result<(), XlsxError> {
    let l = lang.labels();
    header(
        ws,
        f,
        &[
            l.meter, l.scope, l.source, l.carrier, l.activity, l.unit, "CO2 t", "CH4 t", "N2O t",
            "CO2e t", l.biogenic, l.factors, l.formula,
        ],
    )?;
    ws.set_column_width(0, 28)?;
    ws.set_column_width(11, 36)?;
    ws.set_column_width(12, 60)?;
    for (i, (basis, line)) in lines.iter().enumerate() {
        let r = i as u32 + 1;
        links.meter(ws, r, 0, &line.meter)?;
        let scope = scope_label(lang, line.scope);
        ws.write_string(
            r,
            1,
            if basis.is_empty() {
                scope.to_string()
            } else {
                basis.to_string()
            },
        )?;
        ws.write_string(r, 2, source_label(lang, &line.source))?;
        ws.write_string(r, 3, line.carrier.as_str())?;
        ws.write_number_with_format(r, 4, line.activity, &f.quantity)?;
        ws.write_string(r, 5, &line.activity_unit)?;
        ws.write_number_with_format(r, 6, line.co2_t, &f.tonnes)?;
        ws.write_number_with_format(r, 7, line.ch4_t, &f.small)?;
        ws.write_number_with_format(r, 8, line.n2o_t, &f.small)?;
        ws.write_number_with_format(r, 9, line.co2e_t, &f.tonnes)?;
        ws.write_number_with_format(r, 10, line.biogenic_co2_t, &f.tonnes)?;
        let factors: Vec<&FactorRef> = line.factors.iter().collect();
        links.factors(ws, r, 11, &factors)?;
        ws.write_string(r, 12, &line.formula)?;
    }
    Ok(())
}

fn energy_sheet(
    ws: &mut Worksheet,
    account: &Account,
    l: &Labels,
    f: &Formats,
    links: &Links<'_>,
) -> Result<(), XlsxError> {
    header(
        ws,
        f,
        &[l.meter, l.carrier, l.quantity, l.unit, l.coefficient, "tce"],
    )?;
    ws.set_column_width(0, 28)?;
    ws.set_column_width(4, 40)?;
    for (i, e) in account.energy.lines.iter().enumerate() {
        let r = i as u32 + 1;
        links.meter(ws, r, 0, &e.meter)?;
        ws.write_string(r, 1, e.carrier.as_str())?;
        ws.write_number_with_format(r, 2, e.quantity, &f.quantity)?;
        ws.write_string(r, 3, &e.unit)?;
        links.factors(ws, r, 4, &[&e.coefficient])?;
        ws.write_number_with_format(r, 5, e.tce, &f.tonnes)?;
    }
    Ok(())
}

fn meters_sheet(
    ws: &mut Worksheet,
    account: &Account,
    l: &Labels,
    f: &Formats,
) -> Result<(), XlsxError> {
    header(
        ws,
        f,
        &[
            l.meter,
            l.node,
            l.carrier,
            l.quantity,
            l.unit,
            l.points,
            l.read_from,
        ],
    )?;
    ws.set_column_width(0, 28)?;
    for (i, m) in account.meters.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &m.meter)?;
        ws.write_string(r, 1, &m.node)?;
        ws.write_string(r, 2, m.carrier.as_str())?;
        ws.write_number_with_format(r, 3, m.quantity, &f.quantity)?;
        ws.write_string(r, 4, &m.unit)?;
        ws.write_number(r, 5, m.points as f64)?;
        ws.write_string(r, 6, &m.source)?;
    }
    Ok(())
}

fn factors_sheet(
    ws: &mut Worksheet,
    factors: &[FactorRef],
    l: &Labels,
    f: &Formats,
) -> Result<(), XlsxError> {
    header(
        ws,
        f,
        &[
            "ID", l.version, l.value, l.unit, l.document, l.table, l.status,
        ],
    )?;
    ws.set_column_width(0, 36)?;
    ws.set_column_width(4, 60)?;
    for (i, factor) in factors.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &factor.id)?;
        ws.write_number(r, 1, factor.version as f64)?;
        ws.write_number(r, 2, factor.value)?;
        ws.write_string(r, 3, &factor.unit)?;
        ws.write_string(r, 4, &factor.document)?;
        ws.write_string(r, 5, &factor.table)?;
        ws.write_string(r, 6, format!("{:?}", factor.status))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::tests::account;

    /// The text of one part of the workbook (an XLSX file is a zip of XML parts).
    fn part(xlsx: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn the_workbook_holds_every_line_and_links_it() {
        let a = account();
        let bytes = xlsx(&a, Lang::Zh).unwrap();
        assert_eq!(&bytes[..2], b"PK", "a zip container");
        let workbook = part(&bytes, "xl/workbook.xml");
        for sheet in [SUMMARY, LINES, ENERGY, METERS, FACTORS] {
            assert!(workbook.contains(&format!("name=\"{sheet}\"")), "{sheet}");
        }
        let strings = part(&bytes, "xl/sharedStrings.xml");
        assert!(strings.contains("温室气体排放与能源消费报告"));
        for f in &a.inventory.factors_used {
            assert!(strings.contains(&f.id), "{}", f.id);
        }
        // The lines sheet links meters and factors to their rows.
        let lines = part(&bytes, "xl/worksheets/sheet2.xml");
        assert!(lines.contains("location=\"Meters!A2\""), "{lines}");
        assert!(lines.contains("location=\"Factors!A"), "{lines}");
        // CO2e of each line is written as a number.
        let co2e = a.inventory.lines[0].co2e_t;
        assert!(lines.contains(&format!("<v>{co2e}</v>")), "{co2e}");
    }
}
