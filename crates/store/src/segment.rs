//! Raw segment files: Parquet, sorted by (series, ts), one UTC month per directory.
//! Also the shared Parquet helpers (writer properties, reading, row-group pruning).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal64Type, Float64Type, TimestampMillisecondType, UInt32Type,
};
use arrow_array::{
    Array, ArrayRef, Decimal64Array, Float64Array, RecordBatch, TimestampMillisecondArray,
    UInt32Array,
};
use arrow_buffer::ScalarBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::bucket::{partition_name, Partition};
use crate::error::{IoContext, Result};
use crate::{Level, SeriesId, StoreError};

/// Points sorted by (series, ts), columnar.
#[derive(Clone, Default)]
pub(crate) struct Batch {
    pub series: ScalarBuffer<u32>,
    pub ts: ScalarBuffer<i64>,
    pub vals: ScalarBuffer<f64>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.ts.len()
    }
}

/// How the `value` column of a raw file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// DECIMAL(18, scale) on INT64.
    Decimal(u8),
    /// DOUBLE, BYTE_STREAM_SPLIT.
    Double,
}

pub(crate) const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// Smallest number of decimal places (≤ 6) that represents `v` exactly, if `|v| < 1e9`.
/// For such values `round(v * 10^s) / 10^s == v` holds for every `s` up to 6.
pub(crate) fn decimal_places(v: f64) -> Option<u8> {
    if !v.is_finite() || v.abs() >= 1e9 || (v == 0.0 && v.is_sign_negative()) {
        return None;
    }
    (0..POW10.len())
        .find(|&s| (v * POW10[s]).round() / POW10[s] == v)
        .map(|s| s as u8)
}

impl ValueKind {
    /// Kind able to store every value of `vals`.
    pub fn of_values(vals: &[f64]) -> ValueKind {
        let mut scale = 0u8;
        for &v in vals {
            match decimal_places(v) {
                Some(s) => scale = scale.max(s),
                None => return ValueKind::Double,
            }
        }
        ValueKind::Decimal(scale)
    }

    /// Kind able to store the union of two value sets.
    pub fn union(self, o: ValueKind) -> ValueKind {
        match (self, o) {
            (ValueKind::Decimal(a), ValueKind::Decimal(b)) => ValueKind::Decimal(a.max(b)),
            _ => ValueKind::Double,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            ValueKind::Decimal(s) => DataType::Decimal64(18, s as i8),
            ValueKind::Double => DataType::Float64,
        }
    }

    fn of_type(dt: &DataType) -> Option<ValueKind> {
        match dt {
            DataType::Float64 => Some(ValueKind::Double),
            DataType::Decimal64(_, s) | DataType::Decimal128(_, s) if (0..=6).contains(s) => {
                Some(ValueKind::Decimal(*s as u8))
            }
            _ => None,
        }
    }
}

fn raw_schema(kind: ValueKind) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("series", DataType::UInt32, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", kind.data_type(), false),
    ]))
}

/// How hard a new file is compressed: flushes run on the ingest path and are rewritten by
/// compaction soon after, so they use a fast zstd level; compaction writes the files that
/// stay, with a strong one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effort {
    /// Memtable flush: zstd level 1.
    Flush,
    /// Compaction and retention: zstd level 9.
    Compaction,
}

impl Effort {
    fn zstd(self) -> Compression {
        let level = match self {
            Effort::Flush => 1,
            Effort::Compaction => 9,
        };
        Compression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default())
    }
}

fn sorting(cols: usize) -> Option<Vec<SortingColumn>> {
    Some(
        (0..cols as i32)
            .map(|c| SortingColumn {
                column_idx: c,
                descending: false,
                nulls_first: false,
            })
            .collect(),
    )
}

fn raw_props(kind: ValueKind, effort: Effort) -> WriterProperties {
    let (enc, kind_name) = match kind {
        ValueKind::Decimal(s) => (Encoding::DELTA_BINARY_PACKED, format!("decimal(18,{s})")),
        ValueKind::Double => (Encoding::BYTE_STREAM_SPLIT, "double".to_string()),
    };
    WriterProperties::builder()
        .set_compression(effort.zstd())
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("series"), true)
        .set_column_encoding(ColumnPath::from("ts"), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(ColumnPath::from("value"), enc)
        .set_column_compression(
            ColumnPath::from("value"),
            if enc == Encoding::DELTA_BINARY_PACKED {
                Compression::UNCOMPRESSED
            } else {
                effort.zstd()
            },
        )
        .set_max_row_group_row_count(Some(1 << 17))
        .set_data_page_row_count_limit(1 << 17)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_sorting_columns(sorting(2))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("shulv.kind".to_string(), "raw".to_string()),
            KeyValue::new("shulv.format_version".to_string(), "1".to_string()),
            KeyValue::new("shulv.value_encoding".to_string(), kind_name),
        ]))
        .build()
}

/// Writer properties of rollup partial files.
pub(crate) fn partial_props(level: Level, effort: Effort) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(effort.zstd())
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("series"), true)
        .set_column_encoding(
            ColumnPath::from("bucket_start"),
            Encoding::DELTA_BINARY_PACKED,
        )
        .set_column_encoding(ColumnPath::from("first_ts"), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(ColumnPath::from("last_ts"), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(ColumnPath::from("count"), Encoding::DELTA_BINARY_PACKED)
        .set_max_row_group_row_count(Some(1 << 16))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_sorting_columns(sorting(2))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("shulv.kind".to_string(), "rollup".to_string()),
            KeyValue::new("shulv.format_version".to_string(), "1".to_string()),
            KeyValue::new("shulv.level".to_string(), level.name().to_string()),
        ]))
        .build()
}

/// Streaming writer of one raw segment file.
pub(crate) struct RawWriter {
    path: PathBuf,
    file: File,
    w: ArrowWriter<File>,
    kind: ValueKind,
    rows: u64,
}

impl RawWriter {
    pub fn create(path: PathBuf, kind: ValueKind, effort: Effort) -> Result<Self> {
        let file = File::create(&path).at(&path)?;
        let w = ArrowWriter::try_new(
            file.try_clone().at(&path)?,
            raw_schema(kind),
            Some(raw_props(kind, effort)),
        )
        .map_err(|e| StoreError::parquet(&path, e))?;
        Ok(RawWriter {
            path,
            file,
            w,
            kind,
            rows: 0,
        })
    }

    pub fn write(&mut self, b: &Batch) -> Result<()> {
        if b.len() == 0 {
            return Ok(());
        }
        let value: ArrayRef = match self.kind {
            ValueKind::Double => Arc::new(Float64Array::new(b.vals.clone(), None)),
            ValueKind::Decimal(s) => {
                let p = POW10[s as usize];
                let mut m = Vec::with_capacity(b.len());
                for &v in b.vals.iter() {
                    let x = (v * p).round();
                    if x / p != v {
                        return Err(StoreError::corrupt(
                            &self.path,
                            format!("value {v} does not fit decimal scale {s}"),
                        ));
                    }
                    m.push(x as i64);
                }
                Arc::new(
                    Decimal64Array::from(m)
                        .with_precision_and_scale(18, s as i8)
                        .map_err(|e| StoreError::corrupt(&self.path, e))?,
                )
            }
        };
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::new(b.series.clone(), None)),
            Arc::new(TimestampMillisecondArray::new(b.ts.clone(), None).with_timezone("UTC")),
            value,
        ];
        let rb = RecordBatch::try_new(raw_schema(self.kind), cols)
            .map_err(|e| StoreError::corrupt(&self.path, e))?;
        self.w
            .write(&rb)
            .map_err(|e| StoreError::parquet(&self.path, e))?;
        self.rows += b.len() as u64;
        Ok(())
    }

    /// Close and fsync; returns (rows, bytes).
    pub fn finish(self) -> Result<(u64, u64)> {
        self.w
            .close()
            .map_err(|e| StoreError::parquet(&self.path, e))?;
        self.file.sync_all().at(&self.path)?;
        Ok((self.rows, self.file.metadata().at(&self.path)?.len()))
    }
}

/// Read the footer.
pub(crate) fn load_meta(file: &File, path: &Path) -> Result<ArrowReaderMetadata> {
    ArrowReaderMetadata::load(file, ArrowReaderOptions::new())
        .map_err(|e| StoreError::parquet(path, e))
}

/// Row groups that may hold one of `series` (sorted) and a ts in `ts_range`.
pub(crate) fn prune_row_groups(
    meta: &ArrowReaderMetadata,
    path: &Path,
    series: Option<&[SeriesId]>,
    ts_range: Option<(i64, i64)>,
) -> Result<Vec<usize>> {
    let groups = meta.metadata().row_groups();
    let mut keep = vec![true; groups.len()];
    let pq = meta.parquet_schema();
    let stats = |name: &str| -> Result<(ArrayRef, ArrayRef)> {
        let conv = StatisticsConverter::try_new(name, meta.schema(), pq)
            .map_err(|e| StoreError::parquet(path, e))?;
        let mins = conv
            .row_group_mins(groups.iter())
            .map_err(|e| StoreError::parquet(path, e))?;
        let maxs = conv
            .row_group_maxes(groups.iter())
            .map_err(|e| StoreError::parquet(path, e))?;
        Ok((mins, maxs))
    };
    if let Some(q) = series {
        let (mins, maxs) = stats("series")?;
        if let (Some(mins), Some(maxs)) = (
            mins.as_primitive_opt::<UInt32Type>(),
            maxs.as_primitive_opt::<UInt32Type>(),
        ) {
            for (g, k) in keep.iter_mut().enumerate() {
                if mins.is_valid(g) && maxs.is_valid(g) {
                    let (lo, hi) = (mins.value(g), maxs.value(g));
                    let i = q.partition_point(|&s| s < lo);
                    *k &= i < q.len() && q[i] <= hi;
                }
            }
        }
    }
    if let Some((from, to)) = ts_range {
        let name = if meta.schema().column_with_name("ts").is_some() {
            "ts"
        } else {
            "bucket_start"
        };
        let (mins, maxs) = stats(name)?;
        if let (Some(mins), Some(maxs)) = (
            mins.as_primitive_opt::<TimestampMillisecondType>(),
            maxs.as_primitive_opt::<TimestampMillisecondType>(),
        ) {
            for (g, k) in keep.iter_mut().enumerate() {
                if mins.is_valid(g) && maxs.is_valid(g) {
                    *k &= mins.value(g) < to && maxs.value(g) >= from;
                }
            }
        }
    }
    Ok(keep
        .iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(g, _)| g)
        .collect())
}

/// Iterate the record batches of the given row groups.
pub(crate) fn read_groups(
    file: File,
    meta: ArrowReaderMetadata,
    path: &Path,
    groups: Vec<usize>,
    batch_size: usize,
) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let p = path.to_path_buf();
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
        .with_row_groups(groups)
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| StoreError::parquet(path, e))?;
    Ok(reader.map(move |r| r.map_err(|e| StoreError::corrupt(&p, e))))
}

/// Typed column `i` of a batch.
pub(crate) fn col<'a, T: Array + 'static>(
    rb: &'a RecordBatch,
    i: usize,
    path: &Path,
) -> Result<&'a T> {
    rb.column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| StoreError::corrupt(path, format!("unexpected type of column {i}")))
}

/// Timestamp column `i` of a batch.
pub(crate) fn col_ts<'a>(
    rb: &'a RecordBatch,
    i: usize,
    path: &Path,
) -> Result<&'a TimestampMillisecondArray> {
    rb.column(i)
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| StoreError::corrupt(path, "timestamp column expected"))
}

/// Decode a raw record batch (series, ts, value) into a [`Batch`].
pub(crate) fn decode_raw(rb: &RecordBatch, path: &Path) -> Result<Batch> {
    if rb.num_columns() != 3 || rb.columns().iter().any(|c| c.null_count() > 0) {
        return Err(StoreError::corrupt(
            path,
            "raw segment must have 3 non-null columns",
        ));
    }
    let series = col::<UInt32Array>(rb, 0, path)?.values().clone();
    let ts = col_ts(rb, 1, path)?.values().clone();
    let v = rb.column(2);
    let vals: ScalarBuffer<f64> = if let Some(a) = v.as_primitive_opt::<Float64Type>() {
        a.values().clone()
    } else if let Some(a) = v.as_primitive_opt::<Decimal64Type>() {
        let p = POW10
            .get(a.scale() as usize)
            .copied()
            .ok_or_else(|| StoreError::corrupt(path, "bad decimal scale"))?;
        a.values()
            .iter()
            .map(|&m| m as f64 / p)
            .collect::<Vec<_>>()
            .into()
    } else if let Some(a) = v.as_primitive_opt::<Decimal128Type>() {
        let p = POW10
            .get(a.scale() as usize)
            .copied()
            .ok_or_else(|| StoreError::corrupt(path, "bad decimal scale"))?;
        a.values()
            .iter()
            .map(|&m| m as f64 / p)
            .collect::<Vec<_>>()
            .into()
    } else {
        return Err(StoreError::corrupt(path, "unsupported value column type"));
    };
    Ok(Batch { series, ts, vals })
}

/// Raw data file or rollup-only file (partials of raw points dropped by retention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FileKind {
    Raw,
    Rollup,
}

/// A live segment: a raw Parquet file plus its three partial files, or partial files only.
pub(crate) struct SegmentFile {
    pub id: u64,
    pub kind: FileKind,
    pub rows: u64,
    pub bytes: u64,
    pub dir: PathBuf,
    /// (series, first ts, last ts), sorted by series; empty for rollup-only files.
    pub ranges: Vec<(SeriesId, i64, i64)>,
    meta: OnceLock<ArrowReaderMetadata>,
    obsolete: AtomicBool,
}

impl SegmentFile {
    pub fn new(
        id: u64,
        partition: Partition,
        kind: FileKind,
        rows: u64,
        bytes: u64,
        segments_dir: &Path,
    ) -> Self {
        SegmentFile {
            id,
            kind,
            rows,
            bytes,
            dir: segments_dir.join(partition_name(partition)),
            ranges: Vec::new(),
            meta: OnceLock::new(),
            obsolete: AtomicBool::new(false),
        }
    }

    pub fn raw_path(&self) -> PathBuf {
        self.dir.join(format!("{:016}.parquet", self.id))
    }

    pub fn partial_path(&self, level: Level) -> PathBuf {
        self.dir
            .join(format!("{:016}.{}.parquet", self.id, level.name()))
    }

    /// Every file belonging to this segment.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Level::ALL.iter().map(|&l| self.partial_path(l)).collect();
        if self.kind == FileKind::Raw {
            v.push(self.raw_path());
        }
        v
    }

    /// Range of `series` in this file.
    pub fn range(&self, series: SeriesId) -> Option<(i64, i64)> {
        self.ranges
            .binary_search_by_key(&series, |r| r.0)
            .ok()
            .map(|i| (self.ranges[i].1, self.ranges[i].2))
    }

    pub fn min_ts(&self) -> Option<i64> {
        self.ranges.iter().map(|r| r.1).min()
    }

    /// Open the raw file with its (cached) footer.
    pub fn open_raw(&self) -> Result<(File, ArrowReaderMetadata)> {
        let path = self.raw_path();
        let file = File::open(&path).at(&path)?;
        if let Some(m) = self.meta.get() {
            return Ok((file, m.clone()));
        }
        let m = load_meta(&file, &path)?;
        Ok((file, self.meta.get_or_init(|| m).clone()))
    }

    /// Value encoding of the raw file.
    pub fn value_kind(&self) -> Result<ValueKind> {
        let (_, meta) = self.open_raw()?;
        let path = self.raw_path();
        meta.schema()
            .field_with_name("value")
            .ok()
            .and_then(|f| ValueKind::of_type(f.data_type()))
            .ok_or_else(|| StoreError::corrupt(path, "unsupported value column"))
    }

    /// All points of the raw file as batches, in order.
    pub fn batches(&self, batch_size: usize) -> Result<impl Iterator<Item = Result<Batch>>> {
        let (file, meta) = self.open_raw()?;
        let path = self.raw_path();
        let groups = (0..meta.metadata().num_row_groups()).collect();
        let it = read_groups(file, meta, &path, groups, batch_size)?;
        Ok(it.map(move |rb| rb.and_then(|rb| decode_raw(&rb, &path))))
    }

    /// Points of one series with ts in `[from, to)`.
    pub fn read_series(&self, series: SeriesId, from: i64, to: i64) -> Result<Vec<(i64, f64)>> {
        let (file, meta) = self.open_raw()?;
        let path = self.raw_path();
        let groups = prune_row_groups(&meta, &path, Some(&[series]), Some((from, to)))?;
        let mut out = Vec::new();
        for rb in read_groups(file, meta, &path, groups, 1 << 20)? {
            let b = decode_raw(&rb?, &path)?;
            let lo = b.series.partition_point(|&s| s < series);
            let hi = b.series.partition_point(|&s| s <= series);
            let ts = &b.ts[lo..hi];
            let a = lo + ts.partition_point(|&t| t < from);
            let z = lo + ts.partition_point(|&t| t < to);
            out.extend((a..z).map(|i| (b.ts[i], b.vals[i])));
        }
        Ok(out)
    }

    /// Points of each of `series` (sorted) inside any of `ranges` (sorted, disjoint), added to
    /// `out` per series; every row group is decoded once for all the series it holds.
    pub fn read_many(
        &self,
        series: &[SeriesId],
        ranges: &[(i64, i64)],
        out: &mut BTreeMap<SeriesId, Vec<(i64, f64)>>,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (ranges.first(), ranges.last()) else {
            return Ok(());
        };
        let (file, meta) = self.open_raw()?;
        let path = self.raw_path();
        let groups = prune_row_groups(&meta, &path, Some(series), Some((first.0, last.1)))?;
        for rb in read_groups(file, meta, &path, groups, 1 << 20)? {
            let b = decode_raw(&rb?, &path)?;
            let mut lo = 0;
            while lo < b.series.len() {
                let s = b.series[lo];
                let hi = lo + b.series[lo..].partition_point(|&x| x == s);
                if series.binary_search(&s).is_ok() {
                    let ts = &b.ts[lo..hi];
                    let pts = out.entry(s).or_default();
                    for &(from, to) in ranges {
                        let a = lo + ts.partition_point(|&t| t < from);
                        let z = lo + ts.partition_point(|&t| t < to);
                        pts.extend((a..z).map(|i| (b.ts[i], b.vals[i])));
                    }
                }
                lo = hi;
            }
        }
        Ok(())
    }

    /// Delete the files once the last reader lets go of this segment.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::SeqCst);
    }
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::SeqCst) {
            for p in self.paths() {
                if let Err(e) = fs::remove_file(&p) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!("cannot delete obsolete segment file {}: {e}", p.display());
                    }
                }
            }
        }
    }
}
