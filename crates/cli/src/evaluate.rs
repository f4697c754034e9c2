//! `shulv evaluate`: the regional dual-synergy evaluation (区域双化协同成效评价) from files, and
//! the coupling coordination of subsystem scores a researcher already has. The computation is
//! `shulv-evaluate`'s; this module reads files, applies flags over settings and writes outputs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use shulv_evaluate::normalise::Normalisation;
use shulv_evaluate::report::{self, Lang};
use shulv_evaluate::request::{self, PanelInput};
use shulv_evaluate::score::ScoreMethod;
use shulv_evaluate::tiers::TierMethod;
use shulv_evaluate::weights::RiTable;
use shulv_evaluate::{
    CouplingForm, Evaluation, GapPolicy, IndicatorTree, Layout, LongColumns, Pooling, Settings,
    Weighting,
};

/// `shulv evaluate …`
#[derive(Subcommand)]
pub enum EvaluateCommand {
    /// C, T, D and the D level for every row of a CSV of subsystem scores.
    Coupling(CouplingArgs),
    /// Evaluate a panel with an indicator tree: ranking, dimension scores, coupling, obstacle
    /// degrees, tiers, trends; as a table, CSV files, JSON and an HTML report with maps.
    Run(Box<RunArgs>),
    /// Print the default indicator tree (a template on the report's six dimensions, not the
    /// official weights), to copy and edit.
    Template,
}

/// Arguments of `shulv evaluate coupling`.
#[derive(Args)]
pub struct CouplingArgs {
    /// The CSV file (header line; every other column is printed as a label).
    #[arg(long)]
    csv: PathBuf,
    /// The subsystem score columns U1,U2[,U3…], each in [0, 1].
    #[arg(long, value_delimiter = ',', required = true)]
    columns: Vec<String>,
    /// Weights α of the subsystems in T (sum 1); default equal.
    #[arg(long, value_delimiter = ',')]
    weights: Vec<f64>,
    /// standard or corrected (王淑佳 et al. 2021).
    #[arg(long, default_value = "standard")]
    method: String,
    /// table or csv.
    #[arg(long, default_value = "table")]
    format: String,
}

/// Arguments of `shulv evaluate run`.
#[derive(Args)]
pub struct RunArgs {
    /// The indicator tree (TOML or JSON); `template` for the shipped template.
    #[arg(long)]
    tree: String,
    /// Panel CSV files (repeat for several; they are merged).
    #[arg(long, required = true)]
    panel: Vec<PathBuf>,
    /// Layout of the panel files: long, wide or nbs (National Bureau of Statistics export);
    /// default detected.
    #[arg(long)]
    layout: Option<String>,
    /// Long layout: the region column.
    #[arg(long)]
    region_col: Option<String>,
    /// Long layout: the year column.
    #[arg(long)]
    year_col: Option<String>,
    /// Long layout: the value column.
    #[arg(long)]
    value_col: Option<String>,
    /// Long layout: the indicator column.
    #[arg(long)]
    indicator_col: Option<String>,
    /// The indicator id of a file of one indicator (long without indicator column, or NBS).
    #[arg(long)]
    indicator: Option<String>,
    /// A TOML file of settings (flags below override it).
    #[arg(long)]
    settings: Option<PathBuf>,
    /// min-max, vector or z-score.
    #[arg(long)]
    normalisation: Option<String>,
    /// The min–max shift a,b (e.g. 0.002,0.998).
    #[arg(long, value_delimiter = ',')]
    shift: Vec<f64>,
    /// pooled or per-year.
    #[arg(long)]
    pooling: Option<String>,
    /// entropy, critic, subjective or combined.
    #[arg(long)]
    weighting: Option<String>,
    /// weighted-sum, topsis-vector or topsis-minmax.
    #[arg(long)]
    score: Option<String>,
    /// standard or corrected.
    #[arg(long)]
    coupling: Option<String>,
    /// saaty or cn-textbook.
    #[arg(long)]
    ri_table: Option<String>,
    /// Accept AHP matrices with CR ≥ 0.10.
    #[arg(long)]
    force_ahp: bool,
    /// jenks:K, quantiles:K or thresholds:T1,T2,…
    #[arg(long)]
    tiers: Option<String>,
    /// refuse, drop-regions or interpolate.
    #[arg(long)]
    gaps: Option<String>,
    /// FIRST-LAST years.
    #[arg(long)]
    years: Option<String>,
    /// Write ranking.csv, weights.csv, tiers.csv, trends.csv, flags.csv into DIR.
    #[arg(long)]
    csv_out: Option<PathBuf>,
    /// Write the whole result as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the HTML report (maps, radar charts).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write the score map of the last year as SVG.
    #[arg(long)]
    map: Option<PathBuf>,
    /// Language of the table, report and map: zh or en.
    #[arg(long, default_value = "zh")]
    lang: String,
}

/// Runs `shulv evaluate …`.
pub fn run(command: &EvaluateCommand) -> Result<()> {
    match command {
        EvaluateCommand::Coupling(args) => coupling(args),
        EvaluateCommand::Run(args) => evaluate(args),
        EvaluateCommand::Template => {
            print!("{}", shulv_evaluate::tree::TEMPLATE_TOML);
            Ok(())
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn coupling(args: &CouplingArgs) -> Result<()> {
    let form = CouplingForm::parse(&args.method)?;
    let text = read(&args.csv)?;
    let (labels, rows) = request::coupling_table(
        &text,
        &args.csv.display().to_string(),
        &args.columns,
        &args.weights,
        form,
    )?;
    let mut out = String::new();
    let csv = match args.format.as_str() {
        "csv" => true,
        "table" => false,
        other => bail!("--format {other:?}: use table or csv"),
    };
    let mut header: Vec<String> = labels.clone();
    header.extend(args.columns.iter().cloned());
    header.extend(["C", "T", "D", "D_level", "D_class", "C_stage"].map(String::from));
    if csv {
        writeln!(out, "{}", header.join(","))?;
    } else {
        writeln!(out, "# coupling: {}", form.formula())?;
        writeln!(out, "{}", header.join("\t"))?;
    }
    for r in &rows {
        let mut fields: Vec<String> = r.labels.clone();
        fields.extend(r.u.iter().map(|u| u.to_string()));
        let c = &r.coupling;
        fields.extend([
            format!("{:.6}", c.c),
            format!("{:.6}", c.t),
            format!("{:.6}", c.d),
            c.d_level.level.to_string(),
            c.d_level.zh.to_string(),
            c.c_stage.zh.to_string(),
        ]);
        writeln!(out, "{}", fields.join(if csv { "," } else { "\t" }))?;
    }
    print!("{out}");
    Ok(())
}

fn parse_or<T>(
    value: &Option<String>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    match value {
        None => Ok(None),
        Some(v) => match parse(v) {
            Some(t) => Ok(Some(t)),
            None => bail!("--{what} {v:?} is not one of the accepted values (see --help)"),
        },
    }
}

/// The settings of a run: the settings file, then the flags.
fn settings(args: &RunArgs) -> Result<Settings> {
    let mut s = match &args.settings {
        Some(p) => request::settings_from_toml(&read(p)?, &p.display().to_string())?,
        None => Settings::default(),
    };
    if let Some(n) = parse_or(&args.normalisation, "normalisation", |v| match v {
        "min-max" | "minmax" => Some(Normalisation::MinMax { a: 0.0, b: 1.0 }),
        "vector" => Some(Normalisation::Vector),
        "z-score" | "zscore" => Some(Normalisation::ZScore),
        _ => None,
    })? {
        s.normalisation = n;
    }
    if !args.shift.is_empty() {
        let [a, b] = args.shift[..] else {
            bail!("--shift takes two numbers a,b");
        };
        s.normalisation = Normalisation::MinMax { a, b };
    }
    if let Some(p) = parse_or(&args.pooling, "pooling", |v| match v {
        "pooled" => Some(Pooling::Pooled),
        "per-year" => Some(Pooling::PerYear),
        _ => None,
    })? {
        s.pooling = p;
    }
    if let Some(w) = parse_or(&args.weighting, "weighting", Weighting::parse)? {
        s.weighting = Some(w);
    }
    if let Some(m) = parse_or(&args.score, "score", |v| match v {
        "weighted-sum" => Some(ScoreMethod::WeightedSum),
        "topsis-vector" => Some(ScoreMethod::TopsisVector),
        "topsis-minmax" => Some(ScoreMethod::TopsisMinMax),
        _ => None,
    })? {
        s.score = m;
    }
    if let Some(c) = &args.coupling {
        s.coupling = CouplingForm::parse(c)?;
    }
    if let Some(t) = parse_or(&args.ri_table, "ri-table", |v| match v {
        "saaty" => Some(RiTable::Saaty),
        "cn-textbook" => Some(RiTable::CnTextbook),
        _ => None,
    })? {
        s.ri_table = t;
    }
    s.force_ahp |= args.force_ahp;
    if let Some(t) = parse_or(&args.tiers, "tiers", |v| {
        let (kind, rest) = v.split_once(':')?;
        match kind {
            "jenks" => Some(TierMethod::NaturalBreaks {
                classes: rest.parse().ok()?,
            }),
            "quantiles" => Some(TierMethod::Quantiles {
                classes: rest.parse().ok()?,
            }),
            "thresholds" => Some(TierMethod::Thresholds {
                thresholds: rest
                    .split(',')
                    .map(|t| t.parse().ok())
                    .collect::<Option<_>>()?,
            }),
            _ => None,
        }
    })? {
        s.tiers = t;
    }
    if let Some(g) = parse_or(&args.gaps, "gaps", |v| match v {
        "refuse" => Some(GapPolicy::Refuse),
        "drop-regions" => Some(GapPolicy::DropRegions),
        "interpolate" => Some(GapPolicy::Interpolate),
        _ => None,
    })? {
        s.gaps = g;
    }
    if let Some(y) = parse_or(&args.years, "years", |v| {
        let (a, b) = v.split_once('-')?;
        Some([a.parse().ok()?, b.parse().ok()?])
    })? {
        s.years = Some(y);
    }
    Ok(s)
}

fn evaluate(args: &RunArgs) -> Result<()> {
    let lang =
        Lang::parse(&args.lang).with_context(|| format!("--lang {:?}: use zh or en", args.lang))?;
    let tree = if args.tree == "template" {
        IndicatorTree::template()
    } else {
        let path = Path::new(&args.tree);
        IndicatorTree::parse(&read(path)?, &path.display().to_string())?
    };
    let layout = parse_or(&args.layout, "layout", Layout::parse)?;
    let columns = LongColumns {
        region: args.region_col.clone(),
        year: args.year_col.clone(),
        indicator: args.indicator_col.clone(),
        value: args.value_col.clone(),
        indicator_id: args.indicator.clone(),
    };
    let panels = args
        .panel
        .iter()
        .map(|p| {
            Ok(PanelInput {
                name: p.display().to_string(),
                csv: read(p)?,
                layout,
                columns: columns.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let settings = settings(args)?;
    let e = request::run(&tree, &panels, &settings)?;
    print!("{}", table(&e, lang));
    if let Some(dir) = &args.csv_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in csv_files(&e)? {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&e)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.html {
        std::fs::write(p, report::html(&e, lang))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.map {
        let last = e.provenance.years.last().copied().unwrap_or_default();
        let title = match lang {
            Lang::Zh => format!("{} 综合得分 {last}", e.provenance.tree),
            Lang::En => format!("{} composite score {last}", e.provenance.tree),
        };
        let svg = report::choropleth_svg(&report::last_year(&e, |r| Some(r.score)), &title, lang);
        std::fs::write(p, svg).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// The ranking of the last year as a text table, with the method lines above it.
fn table(e: &Evaluation, lang: Lang) -> String {
    let p = &e.provenance;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}{}",
        p.tree,
        if p.template {
            "  [TEMPLATE — not the official weights]"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "# normalisation: {}; weights: {}; score: {}",
        p.normalisation, p.weighting, p.score
    );
    let _ = writeln!(
        s,
        "# coupling: {}; tiers: {}; {} regions × {} years",
        p.coupling,
        p.tiers,
        p.regions,
        p.years.len()
    );
    for note in &e.notes {
        let _ = writeln!(s, "# note: {note}");
    }
    let flags = e.flags.len();
    if flags > 0 {
        let _ = writeln!(
            s,
            "# {flags} data-quality flags (gaps, breaks, outliers): see flags.csv / the report"
        );
    }
    let last = *p.years.last().expect("a year");
    let mut header = vec![
        "rank".to_string(),
        "region".into(),
        "score".into(),
        "tier".into(),
    ];
    header.extend(e.dimensions.iter().map(|d| d.id.clone()));
    if !e.subsystems.is_empty() {
        header.extend(["C", "T", "D", "D level"].map(String::from));
    }
    let _ = writeln!(s, "{}", header.join("\t"));
    for r in e.rows.iter().filter(|r| r.year == last) {
        let tier = e
            .tiers
            .iter()
            .find(|t| t.region == r.region)
            .map_or(0, |t| t.tier);
        let name = if lang == Lang::Zh { &r.zh } else { &r.en };
        let mut f = vec![
            r.rank.to_string(),
            name.clone(),
            format!("{:.4}", r.score),
            tier.to_string(),
        ];
        f.extend(r.dimension_scores.iter().map(|v| format!("{v:.3}")));
        if let Some(c) = r.coupling {
            f.extend([
                format!("{:.3}", c.c),
                format!("{:.3}", c.t),
                format!("{:.3}", c.d),
            ]);
            f.push(
                if lang == Lang::Zh {
                    c.d_level.zh
                } else {
                    c.d_level.en
                }
                .to_string(),
            );
        }
        let _ = writeln!(s, "{}", f.join("\t"));
    }
    s
}

fn csv_text(header: &[String], rows: Vec<Vec<String>>) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// ranking.csv (every region-year), weights.csv, tiers.csv, trends.csv, flags.csv.
fn csv_files(e: &Evaluation) -> Result<Vec<(&'static str, String)>> {
    let mut header: Vec<String> = ["year", "rank", "region", "zh", "en", "score"]
        .map(String::from)
        .to_vec();
    header.extend(e.dimensions.iter().map(|d| format!("dim_{}", d.id)));
    header.extend(e.subsystems.iter().map(|s| format!("U_{s}")));
    if !e.subsystems.is_empty() {
        header.extend(["C", "T", "D", "D_level", "D_class", "C_stage"].map(String::from));
    }
    header.extend(e.dimensions.iter().map(|d| format!("obstacle_{}", d.id)));
    header.push("main_obstacles".into());
    let rows = e
        .rows
        .iter()
        .map(|r| {
            let mut f = vec![
                r.year.to_string(),
                r.rank.to_string(),
                r.region.clone(),
                r.zh.clone(),
                r.en.clone(),
                r.score.to_string(),
            ];
            f.extend(r.dimension_scores.iter().map(|v| v.to_string()));
            f.extend(r.subsystem_scores.iter().map(|v| v.to_string()));
            if let Some(c) = r.coupling {
                f.extend([
                    c.c.to_string(),
                    c.t.to_string(),
                    c.d.to_string(),
                    c.d_level.level.to_string(),
                    c.d_level.zh.into(),
                    c.c_stage.zh.into(),
                ]);
            }
            f.extend(r.dimension_obstacles.iter().map(|v| v.to_string()));
            f.push(
                r.obstacles
                    .iter()
                    .map(|o| format!("{} {:.2}%", o.indicator, o.share))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            f
        })
        .collect();
    let ranking = csv_text(&header, rows)?;
    let weights = csv_text(
        &[
            "id",
            "zh",
            "en",
            "unit",
            "direction",
            "subsystem",
            "dimension",
            "weight",
            "objective",
            "subjective",
        ]
        .map(String::from),
        e.indicators
            .iter()
            .map(|i| {
                vec![
                    i.id.clone(),
                    i.zh.clone(),
                    i.en.clone(),
                    i.unit.clone(),
                    format!("{:?}", i.direction).to_lowercase(),
                    i.subsystem.clone().unwrap_or_default(),
                    i.dimension.clone(),
                    i.weight.to_string(),
                    i.objective.map(|v| v.to_string()).unwrap_or_default(),
                    i.subjective.map(|v| v.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
    )?;
    let tiers = csv_text(
        &["region", "score", "tier"].map(String::from),
        e.tiers
            .iter()
            .map(|t| vec![t.region.clone(), t.score.to_string(), t.tier.to_string()])
            .collect(),
    )?;
    let trends = csv_text(
        &[
            "region",
            "first",
            "last",
            "slope_per_year",
            "rank_first",
            "rank_last",
            "D_first",
            "D_last",
            "D_slope",
        ]
        .map(String::from),
        e.trends
            .iter()
            .map(|t| {
                let mut f = vec![
                    t.region.clone(),
                    t.first.to_string(),
                    t.last.to_string(),
                    t.slope.to_string(),
                    t.rank_first.to_string(),
                    t.rank_last.to_string(),
                ];
                match t.d {
                    Some(d) => f.extend(d.iter().map(|v| v.to_string())),
                    None => f.extend([String::new(), String::new(), String::new()]),
                }
                f
            })
            .collect(),
    )?;
    let flags = csv_text(
        &[
            "kind",
            "region",
            "indicator",
            "year",
            "value",
            "reference",
            "message",
        ]
        .map(String::from),
        e.flags
            .iter()
            .map(|f| {
                vec![
                    format!("{:?}", f.kind).to_lowercase(),
                    f.region.clone(),
                    f.indicator.clone(),
                    f.year.to_string(),
                    f.value.map(|v| v.to_string()).unwrap_or_default(),
                    f.reference.map(|v| v.to_string()).unwrap_or_default(),
                    f.message.clone(),
                ]
            })
            .collect(),
    )?;
    Ok(vec![
        ("ranking.csv", ranking),
        ("weights.csv", weights),
        ("tiers.csv", tiers),
        ("trends.csv", trends),
        ("flags.csv", flags),
    ])
}
