//! Reports rendered on the server side, without a browser or JavaScript: an SVG choropleth map
//! of the provinces, SVG radar charts and line charts, and a self-contained HTML report in
//! Chinese or English.
//!
//! The map is drawn from the simplified DataV boundaries shipped in `data/` (MIT licence). It is
//! an analytical view, not an approved map (分析示意图，非标准地图, no 审图号), and says so on
//! its face.

use std::fmt::Write as _;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::evaluation::Evaluation;
use crate::panel::FlagKind;
use crate::regions;

/// Language of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 中文
    Zh,
    /// English
    En,
}

impl Lang {
    /// Parses `zh` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The caveat printed on every map.
pub const MAP_CAVEAT: &str =
    "分析示意图，非标准地图（无审图号）/ analytical view, not an approved map";
/// The attribution printed on every map.
pub const MAP_ATTRIBUTION: &str = "Boundaries: DataV.GeoAtlas, MIT licence (simplified)";

const BOUNDARIES: &str = include_str!("../data/china_provinces.simplified.json");

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    adcode: String,
}

#[derive(Deserialize)]
struct Geometry {
    coordinates: Vec<Vec<Vec<[f64; 2]>>>,
}

/// (adcode, SVG path data) of every feature, in map units (0.1° of longitude × cos 36°).
fn shapes() -> &'static [(String, String)] {
    static SHAPES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let c: Collection = serde_json::from_str(BOUNDARIES).expect("shipped boundaries parse");
        c.features
            .into_iter()
            .map(|f| {
                let mut d = String::new();
                for ring in f.geometry.coordinates.iter().flatten() {
                    for (i, p) in ring.iter().enumerate() {
                        let (x, y) = project(p[0], p[1]);
                        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                    }
                    d.push('Z');
                }
                (f.properties.adcode, d)
            })
            .collect()
    })
}

fn project(lon: f64, lat: f64) -> (f64, f64) {
    (
        (lon - 73.0) * 36f64.to_radians().cos() * 10.0,
        (54.0 - lat) * 10.0,
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Five greens from light to dark.
const PALETTE: [&str; 5] = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"];

fn class_of(v: f64, min: f64, max: f64) -> usize {
    if max <= min {
        return 2;
    }
    (((v - min) / (max - min)) * 5.0).floor().clamp(0.0, 4.0) as usize
}

/// A choropleth map of `values` (region key → value; provinces only are drawn), with a legend
/// of five equal intervals, a South China Sea inset, the caveat and the attribution.
pub fn choropleth_svg(values: &[(String, f64)], title: &str, lang: Lang) -> String {
    let min = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
    let max = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
    let (w, h) = (640.0, 520.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="11"><rect width="{w}" height="{h}" fill="#ffffff"/><text x="10" y="20" font-size="14" font-weight="bold">{}</text><defs><clipPath id="main"><rect x="0" y="0" width="507" height="380"/></clipPath><clipPath id="inset"><rect x="0" y="0" width="146" height="210"/></clipPath></defs>"##,
        esc(title)
    );
    let mut paths = String::new();
    for (adcode, d) in shapes() {
        let province = regions::PROVINCES.iter().find(|p| p.adcode == adcode);
        let value = province.and_then(|p| values.iter().find(|v| v.0 == p.iso).map(|v| v.1));
        let (fill, label) = match (province, value) {
            (Some(p), Some(v)) => (
                PALETTE[class_of(v, min, max)],
                format!("{}: {v:.4}", regions::display_name(p.iso, lang.code())),
            ),
            (Some(p), None) => (
                "#d9d9d9",
                format!(
                    "{}: {}",
                    regions::display_name(p.iso, lang.code()),
                    lang.t("无数据", "no data")
                ),
            ),
            (None, _) => ("none", String::new()),
        };
        let _ = write!(
            paths,
            r##"<path d="{d}" fill="{fill}" stroke="#555" stroke-width="0.6" vector-effect="non-scaling-stroke"><title>{}</title></path>"##,
            esc(&label)
        );
    }
    // main view: 73–135.5°E, 17–54°N; inset: 106–124.6°E, 3–24°N
    let _ = write!(
        s,
        r#"<g transform="translate(10,30)"><g clip-path="url(#main)">{paths}</g></g>"#
    );
    let (ix, iy) = project(106.0, 24.0);
    let _ = write!(
        s,
        r##"<g transform="translate(480,290)"><rect x="0" y="0" width="146" height="210" fill="#fff" stroke="#555"/><g clip-path="url(#inset)"><g transform="scale(0.97) translate({:.1},{:.1})">{paths}</g></g><text x="4" y="204" font-size="9">{}</text></g>"##,
        -ix,
        -iy,
        lang.t("南海诸岛", "South China Sea Islands")
    );
    let (lx, ly) = (20.0, 430.0);
    for (i, colour) in PALETTE.iter().enumerate() {
        let lo = min + (max - min) * i as f64 / 5.0;
        let hi = min + (max - min) * (i + 1) as f64 / 5.0;
        let y = ly - 16.0 * (4 - i) as f64;
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="{y}" width="14" height="12" fill="{colour}" stroke="#555" stroke-width="0.5"/><text x="{}" y="{}">{lo:.3} – {hi:.3}</text>"##,
            lx + 18.0,
            y + 10.0
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{lx}" y="{}" width="14" height="12" fill="#d9d9d9" stroke="#555" stroke-width="0.5"/><text x="{}" y="{}">{}</text><text x="10" y="{}" font-size="10" fill="#b00">{}</text><text x="10" y="{}" font-size="9" fill="#555">{}</text></svg>"##,
        ly + 16.0,
        lx + 18.0,
        ly + 26.0,
        lang.t("无数据", "no data"),
        h - 22.0,
        esc(MAP_CAVEAT),
        h - 8.0,
        esc(MAP_ATTRIBUTION)
    );
    s
}

/// A radar chart of one region over `axes` (values in [0, 1]).
pub fn radar_svg(title: &str, axes: &[String], values: &[f64]) -> String {
    let (size, c, r) = (260.0, 130.0, 80.0);
    let n = axes.len().max(1) as f64;
    let point = |i: usize, v: f64| {
        let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        (c + r * v * a.cos(), c + 10.0 + r * v * a.sin())
    };
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}" height="{size}" font-family="sans-serif" font-size="9"><text x="{c}" y="14" text-anchor="middle" font-size="12" font-weight="bold">{}</text>"##,
        esc(title)
    );
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let pts: Vec<String> = (0..axes.len())
            .map(|i| {
                let (x, y) = point(i, ring);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            r##"<polygon points="{}" fill="none" stroke="#ccc"/>"##,
            pts.join(" ")
        );
    }
    for (i, axis) in axes.iter().enumerate() {
        let (x, y) = point(i, 1.0);
        let (lx, ly) = point(i, 1.22);
        let anchor = if (lx - c).abs() < 5.0 {
            "middle"
        } else if lx > c {
            "start"
        } else {
            "end"
        };
        let _ = write!(
            s,
            r##"<line x1="{c}" y1="{}" x2="{x:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}">{}</text>"##,
            c + 10.0,
            esc(axis)
        );
    }
    let pts: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (x, y) = point(i, v.clamp(0.0, 1.0));
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        s,
        r##"<polygon points="{}" fill="#31a354" fill-opacity="0.35" stroke="#006d2c" stroke-width="1.5"/></svg>"##,
        pts.join(" ")
    );
    s
}

/// A line chart of several series over the same years (values in [0, 1]).
pub fn lines_svg(title: &str, years: &[i32], series: &[(String, Vec<f64>)]) -> String {
    let (w, h, left, top, pw, ph) = (640.0, 300.0, 40.0, 30.0, 470.0, 230.0);
    let colours = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
    ];
    let n = years.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + pw * i as f64 / n;
    let y = |v: f64| top + ph * (1.0 - v.clamp(0.0, 1.0));
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="10"><text x="10" y="18" font-size="13" font-weight="bold">{}</text>"##,
        esc(title)
    );
    for k in 0..=10 {
        let v = k as f64 / 10.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#eee"/><text x="{2}" y="{3:.1}" text-anchor="end">{v:.1}</text>"##,
            y(v),
            left + pw,
            left - 4.0,
            y(v) + 3.0
        );
    }
    for (i, yr) in years.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{yr}</text>"##,
            x(i),
            top + ph + 14.0
        );
    }
    for (k, (name, vals)) in series.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let pts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/><text x="{}" y="{}" fill="{colour}">{}</text>"##,
            pts.join(" "),
            left + pw + 10.0,
            top + 12.0 * k as f64 + 8.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// The last year's values of every region, for the map.
pub fn last_year(
    e: &Evaluation,
    value: impl Fn(&crate::evaluation::Row) -> Option<f64>,
) -> Vec<(String, f64)> {
    let last = *e.provenance.years.last().expect("at least one year");
    e.rows
        .iter()
        .filter(|r| r.year == last)
        .filter_map(|r| value(r).map(|v| (r.region.clone(), v)))
        .collect()
}

/// The self-contained HTML report of an evaluation.
pub fn html(e: &Evaluation, lang: Lang) -> String {
    let p = &e.provenance;
    let last = *p.years.last().expect("at least one year");
    let name = |key: &str| esc(&regions::display_name(key, lang.code()));
    let dim_name = |i: usize| match lang {
        Lang::Zh => e.dimensions[i].zh.clone(),
        Lang::En => e.dimensions[i].en.clone(),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><title>{}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}td.n{{text-align:right}}.warn{{background:#fff3cd;padding:.6em;border:1px solid #e0c36c}}.small{{font-size:12px;color:#555}}.radars svg{{display:inline-block}}</style></head><body>"#,
        lang.code(),
        esc(lang.t("区域双化协同成效评价", "Regional dual-synergy evaluation"))
    );
    let _ = write!(
        s,
        "<h1>{} — {}</h1>",
        esc(lang.t("区域双化协同成效评价", "Regional dual-synergy evaluation")),
        esc(&p.tree)
    );
    if p.template {
        let _ = write!(
            s,
            r#"<p class="warn">{} {}</p>"#,
            esc(lang.t(
                "本评价使用模板指标体系，不是官方权重。",
                "This evaluation uses a template indicator tree, not the official weights."
            )),
            esc(&p.tree_note)
        );
    }
    let _ = write!(
        s,
        r#"<h2>{}</h2><ul class="small"><li>{}: {}</li><li>{}: {}</li><li>{}: {}</li><li>{}: {}</li><li>{}: {}</li><li>{}: {} × {} = {}</li><li>{}</li></ul>"#,
        lang.t("方法与设置", "Method and settings"),
        lang.t("标准化", "Normalisation"),
        esc(&p.normalisation),
        lang.t("权重", "Weights"),
        esc(&p.weighting),
        lang.t("综合得分", "Score"),
        esc(&p.score),
        lang.t("耦合度", "Coupling"),
        esc(&p.coupling),
        lang.t("梯队", "Tiers"),
        esc(&p.tiers),
        lang.t("样本", "Samples"),
        p.regions,
        p.years.len(),
        p.samples,
        esc(&p.engine)
    );
    for note in &e.notes {
        let _ = write!(s, r#"<p class="small">{}</p>"#, esc(note));
    }
    let _ = write!(s, "<h2>{} ({last})</h2>", lang.t("得分地图", "Score map"));
    s.push_str(&choropleth_svg(
        &last_year(e, |r| Some(r.score)),
        &format!("{} {last}", lang.t("综合得分", "Composite score")),
        lang,
    ));
    if !e.subsystems.is_empty() {
        s.push_str(&choropleth_svg(
            &last_year(e, |r| r.coupling.map(|c| c.d)),
            &format!("{} D {last}", lang.t("耦合协调度", "Coupling coordination")),
            lang,
        ));
    }
    // ranking of the last year
    let _ = write!(
        s,
        "<h2>{} ({last})</h2><table><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th>",
        lang.t("排名", "Ranking"),
        lang.t("地区", "Region"),
        lang.t("得分", "Score"),
        lang.t("梯队", "Tier")
    );
    for i in 0..e.dimensions.len() {
        let _ = write!(s, "<th>{}</th>", esc(&dim_name(i)));
    }
    if !e.subsystems.is_empty() {
        for sub in &e.subsystems {
            let _ = write!(s, "<th>U {}</th>", esc(sub));
        }
        let _ = write!(
            s,
            "<th>C</th><th>T</th><th>D</th><th>{}</th>",
            lang.t("协调等级", "D level")
        );
    }
    let _ = write!(
        s,
        "<th>{}</th></tr>",
        lang.t("主要障碍因子", "Main obstacles")
    );
    for r in e.rows.iter().filter(|r| r.year == last) {
        let tier = e
            .tiers
            .iter()
            .find(|t| t.region == r.region)
            .map_or(0, |t| t.tier);
        let _ = write!(
            s,
            r#"<tr><td class="n">{}</td><td>{}</td><td class="n">{:.4}</td><td class="n">{tier}</td>"#,
            r.rank,
            name(&r.region),
            r.score
        );
        for v in &r.dimension_scores {
            let _ = write!(s, r#"<td class="n">{v:.3}</td>"#);
        }
        if let Some(c) = r.coupling {
            for u in &r.subsystem_scores {
                let _ = write!(s, r#"<td class="n">{u:.3}</td>"#);
            }
            let _ = write!(
                s,
                r#"<td class="n">{:.3}</td><td class="n">{:.3}</td><td class="n">{:.3}</td><td>{}</td>"#,
                c.c,
                c.t,
                c.d,
                lang.t(c.d_level.zh, c.d_level.en)
            );
        }
        let obstacles: Vec<String> = r
            .obstacles
            .iter()
            .map(|o| format!("{} {:.1}%", o.indicator, o.share))
            .collect();
        let _ = write!(s, "<td>{}</td></tr>", esc(&obstacles.join(", ")));
    }
    s.push_str("</table>");
    // radars
    let axes: Vec<String> = (0..e.dimensions.len()).map(dim_name).collect();
    let _ = write!(
        s,
        r#"<h2>{} ({last})</h2><div class="radars">"#,
        lang.t("各维度雷达图", "Dimension radar charts")
    );
    for r in e.rows.iter().filter(|r| r.year == last) {
        s.push_str(&radar_svg(
            &format!(
                "{} #{}",
                regions::display_name(&r.region, lang.code()),
                r.rank
            ),
            &axes,
            &r.dimension_scores,
        ));
    }
    s.push_str("</div>");
    // coupling over time
    if !e.subsystems.is_empty() && p.years.len() > 1 {
        let top: Vec<(String, Vec<f64>)> = e
            .rows
            .iter()
            .filter(|r| r.year == last)
            .take(8)
            .map(|r| {
                let d = e
                    .rows
                    .iter()
                    .filter(|x| x.region == r.region)
                    .map(|x| x.coupling.map_or(0.0, |c| c.d));
                let mut by_year: Vec<(i32, f64)> = e
                    .rows
                    .iter()
                    .filter(|x| x.region == r.region)
                    .map(|x| x.year)
                    .zip(d)
                    .collect();
                by_year.sort_by_key(|v| v.0);
                (
                    regions::display_name(&r.region, lang.code()),
                    by_year.into_iter().map(|v| v.1).collect(),
                )
            })
            .collect();
        let _ = write!(
            s,
            "<h2>{}</h2>",
            lang.t(
                "耦合协调度变化（末年前八名）",
                "Coupling coordination over time (top 8 of the last year)"
            )
        );
        s.push_str(&lines_svg("D", &p.years, &top));
    }
    // trends
    let _ = write!(
        s,
        "<h2>{}</h2><table><tr><th>{}</th><th>{} {}</th><th>{} {}</th><th>{}</th><th>{}</th></tr>",
        lang.t("趋势", "Trends"),
        lang.t("地区", "Region"),
        lang.t("得分", "Score"),
        p.years[0],
        lang.t("得分", "Score"),
        last,
        lang.t("年均斜率", "Slope / year"),
        lang.t("排名变化", "Rank change")
    );
    for t in &e.trends {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{:.4}</td><td class="n">{:.4}</td><td class="n">{:+.5}</td><td class="n">{} → {}</td></tr>"#,
            name(&t.region),
            t.first,
            t.last,
            t.slope,
            t.rank_first,
            t.rank_last
        );
    }
    s.push_str("</table>");
    // macro regions
    if !e.macro_regions.is_empty() {
        let _ = write!(
            s,
            "<h2>{} ({last})</h2><table>",
            lang.t("四大板块平均得分", "Mean score by macro-region")
        );
        for m in &e.macro_regions {
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{:.4}</td></tr>"#,
                lang.t(m.macro_region.zh(), m.macro_region.en()),
                m.regions,
                m.mean
            );
        }
        s.push_str("</table>");
    }
    // weights
    let _ = write!(s, "<h2>{}</h2><table><tr><th>id</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>", lang.t("指标与权重", "Indicators and weights"), lang.t("名称", "Name"), lang.t("单位", "Unit"), lang.t("方向", "Direction"), lang.t("子系统", "Subsystem"), lang.t("权重", "Weight"));
    for i in &e.indicators {
        let dir = match i.direction {
            crate::tree::Direction::Positive => lang.t("正向", "positive"),
            crate::tree::Direction::Negative => lang.t("负向", "negative"),
        };
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{dir}</td><td>{}</td><td class="n">{:.4}</td></tr>"#,
            esc(&i.id),
            esc(if lang == Lang::Zh { &i.zh } else { &i.en }),
            esc(&i.unit),
            esc(i.subsystem.as_deref().unwrap_or("")),
            i.weight
        );
    }
    s.push_str("</table>");
    // flags
    let _ = write!(
        s,
        "<h2>{}</h2>",
        lang.t("数据质量标记", "Data-quality flags")
    );
    if e.flags.is_empty() && e.excluded.is_empty() && e.filled.is_empty() {
        let _ = write!(s, "<p>{}</p>", lang.t("无。", "None."));
    } else {
        s.push_str("<ul class=\"small\">");
        for f in &e.flags {
            let kind = match f.kind {
                FlagKind::Gap => lang.t("缺失", "gap"),
                FlagKind::Break => lang.t("断点", "break"),
                FlagKind::Outlier => lang.t("异常值", "outlier"),
            };
            let _ = write!(
                s,
                "<li>{kind}: {} {} {}: {}</li>",
                name(&f.region),
                f.year,
                esc(&f.indicator),
                esc(&f.message)
            );
        }
        for x in &e.excluded {
            let _ = write!(s, "<li>{}: {}</li>", lang.t("剔除", "excluded"), esc(x));
        }
        for x in &e.filled {
            let _ = write!(s, "<li>{}: {}</li>", lang.t("插值", "interpolated"), esc(x));
        }
        s.push_str("</ul>");
    }
    let _ = write!(
        s,
        r#"<p class="small">{} · {}</p></body></html>"#,
        esc(MAP_CAVEAT),
        esc(MAP_ATTRIBUTION)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_colours_provinces_by_value_and_carries_the_caveat() {
        let svg = choropleth_svg(
            &[("CN-JS".into(), 0.9), ("CN-NX".into(), 0.1)],
            "t",
            Lang::En,
        );
        assert!(svg.contains("Jiangsu: 0.9000"));
        assert!(svg.contains("Ningxia: 0.1000"));
        assert!(svg.contains("Tibet: no data"));
        assert!(svg.contains("not an approved map"));
        assert!(svg.contains(MAP_ATTRIBUTION));
        // 31 provinces + HK, Macao, Taiwan + the South China Sea line, drawn twice (main, inset)
        assert_eq!(svg.matches("<path").count(), 2 * 35);
        assert_eq!(shapes().len(), 35);
    }

    #[test]
    fn radar_has_one_vertex_per_axis() {
        let axes: Vec<String> = (1..=6).map(|i| format!("D{i}")).collect();
        let svg = radar_svg("r", &axes, &[1.0, 0.5, 0.5, 0.5, 0.5, 0.0]);
        let last = svg.rsplit("<polygon points=\"").next().unwrap();
        assert_eq!(last.split('"').next().unwrap().split(' ').count(), 6);
        // the first axis points straight up to the outer ring at radius 80
        assert!(last.starts_with("130.0,60.0"), "{last}");
    }
}
