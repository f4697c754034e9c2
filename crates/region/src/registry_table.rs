//! The registry snapshot of a publication as a Parquet table: one row per store series, with
//! everything a regional job needs to group readings (meter, node path, enterprise, industry,
//! region code, carrier, unit and its factor to the carrier's roll-up unit, time zone).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use shulv_model::{MeterSpec, NodeSpec, Tree};
use shulv_platform::MeterSeries;

/// Node kinds that mark an enterprise (the level a region accounts and grades).
const ENTERPRISE_KINDS: [&str; 2] = ["enterprise", "企业"];

/// One row: a store series and what it belongs to.
struct Row {
    series: u32,
    meter: String,
    role: &'static str,
    node: String,
    node_path: String,
    enterprise: Option<String>,
    industry: Option<String>,
    region_code: Option<String>,
    carrier: String,
    additive: bool,
    unit: String,
    canonical_unit: String,
    to_canonical: Option<f64>,
    reading: String,
    timezone: String,
}

/// The node itself, then its ancestors, nearest first.
fn lineage<'a>(tree: &'a Tree, node: &str) -> Vec<&'a NodeSpec> {
    tree.node(node)
        .into_iter()
        .chain(tree.ancestors(node))
        .collect()
}

/// Whether a node's kind marks an enterprise.
pub(crate) fn is_enterprise(node: &NodeSpec) -> bool {
    ENTERPRISE_KINDS
        .iter()
        .any(|k| node.kind.trim().eq_ignore_ascii_case(k))
}

fn rows_of(tree: &Tree, meter: &MeterSpec, series: MeterSeries) -> [Row; 2] {
    let up = lineage(tree, &meter.node);
    let node_path = up
        .iter()
        .rev()
        .fold(String::new(), |path, n| format!("{path}/{}", n.id));
    let enterprise = up.iter().find(|n| is_enterprise(n)).map(|n| n.id.clone());
    let industry = up.iter().find_map(|n| n.industry.clone());
    let region_code = up
        .iter()
        .find_map(|n| n.attributes.get("region_code").cloned());
    let canonical = shulv_platform::group_unit(meter.carrier, meter.quantity_unit());
    let row = |series: u32, role: &'static str, unit: shulv_model::Unit| Row {
        series,
        meter: meter.id.clone(),
        role,
        node: meter.node.clone(),
        node_path: node_path.clone(),
        enterprise: enterprise.clone(),
        industry: industry.clone(),
        region_code: region_code.clone(),
        carrier: meter.carrier.to_string(),
        additive: meter.carrier.is_additive(),
        unit: unit.to_string(),
        canonical_unit: canonical.to_string(),
        to_canonical: unit.convert(1.0, canonical).ok(),
        reading: meter.reading.to_string(),
        timezone: tree.timezone_of_node(&meter.node).name().to_string(),
    };
    [
        row(series.quantity, "quantity", meter.quantity_unit()),
        row(series.raw, "raw", meter.unit),
    ]
}

/// The snapshot table of `tree` as Parquet bytes (zstd), rows sorted by series.
pub(crate) fn registry_parquet(
    tree: &Tree,
    series_of: &dyn Fn(&str) -> Option<MeterSeries>,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let mut rows: Vec<Row> = tree
        .meters()
        .iter()
        .filter_map(|m| series_of(&m.id).map(|s| rows_of(tree, m, s)))
        .flatten()
        .collect();
    rows.sort_by_key(|r| r.series);
    let text = |f: fn(&Row) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let optional = |f: fn(&Row) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "series",
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.series))),
        ),
        ("meter", text(|r| &r.meter)),
        ("role", text(|r| r.role)),
        ("node", text(|r| &r.node)),
        ("node_path", text(|r| &r.node_path)),
        ("enterprise", optional(|r| r.enterprise.as_deref())),
        ("industry", optional(|r| r.industry.as_deref())),
        ("region_code", optional(|r| r.region_code.as_deref())),
        ("carrier", text(|r| &r.carrier)),
        (
            "additive",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.additive))
                    .collect::<BooleanArray>(),
            ),
        ),
        ("unit", text(|r| &r.unit)),
        ("canonical_unit", text(|r| &r.canonical_unit)),
        (
            "to_canonical",
            Arc::new(
                rows.iter()
                    .map(|r| r.to_canonical)
                    .collect::<Float64Array>(),
            ),
        ),
        ("reading", text(|r| &r.reading)),
        ("timezone", text(|r| &r.timezone)),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, array)| {
                let nullable = matches!(
                    *name,
                    "enterprise" | "industry" | "region_code" | "to_canonical"
                );
                Field::new(*name, array.data_type().clone(), nullable)
            })
            .collect::<Vec<_>>(),
    );
    debug_assert_eq!(schema.field(0).data_type(), &DataType::UInt32);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            "shulv.kind".into(),
            "registry".to_string(),
        )]))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}
