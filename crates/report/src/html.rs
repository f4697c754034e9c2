//! The printable HTML report: one self-contained page (no scripts, no external resources) whose
//! numbers link to the meter data and factors behind them.

use std::fmt::Write;

use shulv_carbon::{FactorRef, Line};
use shulv_platform::Account;

use crate::labels::{scope_label, source_label, Labels, Lang};
use crate::{name_of, pins_of};

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An element id for `prefix` and `key` (letters and digits kept, every other character as
/// `_` and its code point, so distinct keys give distinct ids).
pub(crate) fn anchor(prefix: &str, key: &str) -> String {
    let mut id = format!("{prefix}-");
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else {
            let _ = write!(id, "_{:x}", c as u32);
        }
    }
    id
}

fn factor_anchor(f: &FactorRef) -> String {
    anchor("factor", &format!("{}:{}", f.id, f.version))
}

/// A number with thousands separators and `decimals` decimals.
pub(crate) fn num(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif;margin:2em;color:#1a1a1a;font-size:13px}\
h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #999;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#eef3ee}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
a{color:#1d5e2f}code{font-size:12px}.meta{color:#555}\
@media print{body{margin:0}a{color:inherit;text-decoration:none}h2{break-after:avoid}tr{break-inside:avoid}.noprint{display:none}}";

/// The printable report of `account` in `lang`.
pub fn html(account: &Account, lang: Lang) -> String {
    let l = lang.labels();
    let inv = &account.inventory;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} · {} · {}</title><style>{STYLE}</style></head><body>",
        l.html_lang,
        esc(l.title),
        esc(&account.name),
        esc(&account.period)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"meta\">{}: {} (<code>{}</code>) · {}: {} · {}: {}</p><p class=\"noprint meta\">{}</p>",
        esc(l.title),
        l.entity,
        esc(&account.name),
        esc(&account.node),
        l.period,
        esc(&account.period),
        l.timezone,
        esc(&account.timezone),
        l.print
    );
    settings_section(&mut h, account, l);
    totals_section(&mut h, account, l);
    by_source_section(&mut h, account, lang);
    lines_section(&mut h, l.lines, "lines", &inv.lines, lang);
    if !inv.scope2_market_lines.is_empty() {
        lines_section(
            &mut h,
            l.market_lines,
            "market-lines",
            &inv.scope2_market_lines,
            lang,
        );
    }
    energy_section(&mut h, account, l);
    meters_section(&mut h, account, l);
    factors_section(&mut h, account, l);
    certificates_section(&mut h, account, l);
    let _ = write!(h, "<h2 id=\"notes\">{}</h2><ul>", l.notes);
    let _ = write!(h, "<li>{}</li>", esc(l.reproduce));
    for n in &inv.notes {
        let _ = write!(h, "<li>{}</li>", esc(n));
    }
    let _ = write!(
        h,
        "</ul><p class=\"meta\">{} {}</p></body></html>",
        l.generated_by,
        env!("CARGO_PKG_VERSION")
    );
    h
}

fn row(h: &mut String, label: &str, value: &str) {
    let _ = write!(h, "<tr><th>{}</th><td>{value}</td></tr>", esc(label));
}

fn settings_section(h: &mut String, account: &Account, l: &Labels) {
    let s = &account.inventory.settings;
    let _ = write!(h, "<h2 id=\"settings\">{}</h2><table>", l.settings);
    row(
        h,
        l.regime,
        &format!(
            "<code>{}</code> — {}",
            esc(&name_of(&s.regime)),
            esc(&account.inventory.regime_description)
        ),
    );
    row(
        h,
        l.caliber,
        &format!("<code>{}</code>", esc(&name_of(&s.caliber))),
    );
    row(
        h,
        l.grid,
        &format!("<code>{}</code>", esc(&name_of(&s.grid))),
    );
    row(
        h,
        l.electricity_year,
        &s.electricity_year
            .map_or_else(|| esc(l.latest), |y| y.to_string()),
    );
    row(h, l.gwp, &esc(&name_of(&s.gwp)));
    row(h, l.pins, &esc(&pins_of(s)));
    row(
        h,
        l.unconfirmed,
        if s.allow_unconfirmed {
            l.unconfirmed_yes
        } else {
            l.unconfirmed_no
        },
    );
    let e = &account.energy.settings;
    row(h, l.electricity_convention, &esc(&name_of(&e.electricity)));
    row(h, l.natural_gas, &esc(&name_of(&e.natural_gas)));
    h.push_str("</table>");
}

fn totals_section(h: &mut String, account: &Account, l: &Labels) {
    let inv = &account.inventory;
    let _ = write!(
        h,
        "<h2 id=\"totals\">{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.totals, l.item, l.value, l.unit
    );
    let mut total = |label: &str, value: Option<f64>, unit: &str, link: &str| {
        if let Some(v) = value {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\"><a href=\"#{link}\">{}</a></td><td>{unit}</td></tr>",
                esc(label),
                num(v, 3)
            );
        }
    };
    total(l.scope1, Some(inv.scope1.total_t), "tCO2e", "by-source");
    total(
        l.scope2_location,
        Some(inv.scope2_location.total_t),
        "tCO2e",
        "by-source",
    );
    total(
        l.scope2_market,
        inv.scope2_market.as_ref().map(|m| m.total_t),
        "tCO2e",
        "market-lines",
    );
    total(l.scope3, Some(inv.scope3.total_t), "tCO2e", "by-source");
    total(
        l.total_location,
        Some(inv.total_location_t),
        "tCO2e",
        "lines",
    );
    total(l.total_market, inv.total_market_t, "tCO2e", "market-lines");
    total(l.biogenic, Some(inv.biogenic_co2_t), "tCO2", "lines");
    total(
        l.own_generation,
        Some(inv.own_generation_kwh),
        "kWh",
        "meters",
    );
    let e = &account.energy;
    total(l.energy_total, Some(e.total_tce), "tce", "energy");
    total(
        l.energy_non_fossil,
        Some(e.excluding_non_fossil_tce),
        "tce",
        "energy",
    );
    total(
        l.value_added,
        account.value_added_10k_yuan,
        "万元",
        "meters",
    );
    total(
        l.carbon_intensity,
        account.carbon_intensity_t_per_10k_yuan,
        "tCO2e/万元",
        "totals",
    );
    total(
        l.energy_intensity,
        account.energy_intensity_tce_per_10k_yuan,
        "tce/万元",
        "totals",
    );
    h.push_str("</table>");
}

fn by_source_section(h: &mut String, account: &Account, lang: Lang) {
    let l = lang.labels();
    let inv = &account.inventory;
    let _ = write!(
        h,
        "<h2 id=\"by-source\">{}</h2><table><tr><th>{}</th><th>{}</th><th>tCO2e</th></tr>",
        l.by_source, l.scope, l.source
    );
    for (scope, total) in [
        (shulv_carbon::Scope::Scope1, &inv.scope1),
        (shulv_carbon::Scope::Scope2, &inv.scope2_location),
        (shulv_carbon::Scope::Scope3, &inv.scope3),
    ] {
        for (source, t) in &total.by_source {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\"><a href=\"#{}\">{}</a></td></tr>",
                scope_label(lang, scope),
                esc(&source_label(lang, source)),
                anchor("source", source),
                num(*t, 3)
            );
        }
    }
    h.push_str("</table>");
}

fn lines_section(h: &mut String, title: &str, id: &str, lines: &[Line], lang: Lang) {
    let l = lang.labels();
    let _ = write!(
        h,
        "<h2 id=\"{id}\">{title}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>CO2 t</th><th>CH4 t</th><th>N2O t</th><th>CO2e t</th><th>{}</th><th>{}</th></tr>",
        l.meter, l.scope, l.source, l.carrier, l.activity, l.factors, l.formula
    );
    let mut first_of_source = std::collections::BTreeSet::new();
    for line in lines {
        // The first line of each source carries the anchor the by-source table links to.
        let source_id = if id == "lines" && first_of_source.insert(line.source.clone()) {
            format!(" id=\"{}\"", anchor("source", &line.source))
        } else {
            String::new()
        };
        let factors: Vec<String> = line
            .factors
            .iter()
            .map(|f| {
                format!(
                    "<a href=\"#{}\">{} v{}</a>",
                    factor_anchor(f),
                    esc(&f.id),
                    f.version
                )
            })
            .collect();
        let _ = write!(
            h,
            "<tr{source_id}><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            anchor("meter", &line.meter),
            esc(&line.meter),
            scope_label(lang, line.scope),
            esc(&source_label(lang, &line.source)),
            esc(line.carrier.as_str()),
            num(line.activity, 3),
            esc(&line.activity_unit),
            num(line.co2_t, 3),
            num(line.ch4_t, 6),
            num(line.n2o_t, 6),
            num(line.co2e_t, 3),
            factors.join("<br>"),
            esc(&line.formula)
        );
    }
    h.push_str("</table>");
}

fn energy_section(h: &mut String, account: &Account, l: &Labels) {
    let _ = write!(
        h,
        "<h2 id=\"energy\">{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>tce</th></tr>",
        l.energy_lines, l.meter, l.carrier, l.quantity, l.coefficient
    );
    for e in &account.energy.lines {
        let _ = write!(
            h,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td class=\"n\">{} {}</td><td><a href=\"#{}\">{} v{}</a> ({} {})</td><td class=\"n\">{}</td></tr>",
            anchor("meter", &e.meter),
            esc(&e.meter),
            esc(e.carrier.as_str()),
            num(e.quantity, 3),
            esc(&e.unit),
            factor_anchor(&e.coefficient),
            esc(&e.coefficient.id),
            e.coefficient.version,
            e.coefficient.value,
            esc(&e.coefficient.unit),
            num(e.tce, 3)
        );
    }
    h.push_str("</table>");
}

fn meters_section(h: &mut String, account: &Account, l: &Labels) {
    let _ = write!(
        h,
        "<h2 id=\"meters\">{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.meters, l.meter, l.node, l.carrier, l.quantity, l.points, l.read_from
    );
    for m in &account.meters {
        let _ = write!(
            h,
            "<tr id=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            anchor("meter", &m.meter),
            esc(&m.meter),
            esc(&m.node),
            esc(m.carrier.as_str()),
            num(m.quantity, 3),
            esc(&m.unit),
            num(m.points as f64, 0),
            esc(&m.source)
        );
    }
    h.push_str("</table>");
}

fn factors_section(h: &mut String, account: &Account, l: &Labels) {
    let _ = write!(
        h,
        "<h2 id=\"factors\">{}</h2><p class=\"meta\">{}</p><table><tr><th>ID</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.factors_used, l.status_legend, l.version, l.value, l.unit, l.document, l.table, l.status
    );
    let mut all: Vec<&FactorRef> = account.inventory.factors_used.iter().collect();
    for e in &account.energy.lines {
        if !all
            .iter()
            .any(|f| f.id == e.coefficient.id && f.version == e.coefficient.version)
        {
            all.push(&e.coefficient);
        }
    }
    for f in all {
        let _ = write!(
            h,
            "<tr id=\"{}\"><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:?}</td></tr>",
            factor_anchor(f),
            esc(&f.id),
            f.version,
            f.value,
            esc(&f.unit),
            esc(&f.document),
            esc(&f.table),
            f.status
        );
    }
    h.push_str("</table>");
}

fn certificates_section(h: &mut String, account: &Account, l: &Labels) {
    let inv = &account.inventory;
    let _ = write!(h, "<h2 id=\"certificates\">{}</h2>", l.certificates);
    if inv.certificates.is_empty() {
        let _ = write!(h, "<p>{}</p>", l.none);
        return;
    }
    let _ = write!(
        h,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        l.certificate, l.mwh, l.vintage, l.technology, l.region
    );
    for c in &inv.certificates {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            num(c.mwh, 3),
            c.vintage,
            esc(&c.technology),
            esc(&c.region)
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::account;

    #[test]
    fn numbers_are_grouped_and_signed() {
        assert_eq!(num(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(num(-1234.0, 0), "-1,234");
        assert_eq!(num(-0.0001, 3), "0.000");
        assert_eq!(num(999.0, 1), "999.0");
    }

    #[test]
    fn every_line_links_to_its_meter_data_and_factors() {
        let a = account();
        let page = html(&a, Lang::Zh);
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"));
        assert!(page.contains("温室气体排放与能源消费报告"));
        // Names are escaped.
        assert!(page.contains("一号企业 &amp; Co") && !page.contains("grid<main>"));
        for line in &a.inventory.lines {
            let meter = anchor("meter", &line.meter);
            assert!(page.contains(&format!("href=\"#{meter}\"")), "{meter}");
            assert!(page.contains(&format!("<tr id=\"{meter}\">")), "{meter}");
            for f in &line.factors {
                let id = factor_anchor(f);
                assert!(page.contains(&format!("href=\"#{id}\"")), "{id}");
                assert!(page.contains(&format!("<tr id=\"{id}\">")), "{id}");
            }
            assert!(page.contains(&num(line.co2e_t, 3)));
        }
        // Every by-source link has its target.
        for source in a.inventory.scope1.by_source.keys() {
            assert!(page.contains(&format!("id=\"{}\"", anchor("source", source))));
        }
        assert!(page.contains(&num(a.inventory.total_location_t, 3)));
        assert!(page.contains("<code>cn_mee_nbs</code>"));
    }

    #[test]
    fn the_english_report_has_no_chinese_labels() {
        let page = html(&account(), Lang::En);
        assert!(page.contains("Greenhouse gas inventory and energy report"));
        for zh in ["范围一", "排放明细", "计量数据来源", "核实状态"] {
            assert!(!page.contains(zh), "{zh}");
        }
    }

    #[test]
    fn anchors_of_distinct_keys_differ() {
        assert_ne!(anchor("m", "a.b"), anchor("m", "a_b"));
        assert_eq!(anchor("m", "a-1"), "m-a_2d1");
    }
}
