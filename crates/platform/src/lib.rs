//! The shulv platform: the meter registry, the ingest pipeline and the query engine over the
//! embedded store. HTTP, CLI and console are thin layers over [`Platform`].

mod accounting;
mod activity_data;
pub mod backup;
mod bills;
mod certificates;
mod critical_peak;
mod demand;
mod error_correlation;
mod forecast_meter;
mod forecast_node;
mod forecast_store;
mod forecasting;
mod freshness;
mod ingest;
mod query;
mod registry;
mod schedules;
mod tariffs;
mod weather;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use shulv_model::RegistryFile;
use shulv_store::{Store, StoreConfig, StoreError, StoreStats};

pub use accounting::{
    Account, AccountRequest, FactorKind, GradeReport, MeterQuantity, OutputIntensity, Period,
};
pub use activity_data::{ActivityRecord, NewActivityRecord};
pub use bills::{BillRequest, NodeBill, RankedTariff, TariffComparison};
pub use certificates::{Certificate, CertificateKind, NewCertificate, Retirement};
pub use critical_peak::{DayMaximum, TemperatureTrigger};
pub use demand::PeakDemand;
pub use forecast_store::{
    score, summary, ComparedHour, ComparedSeries, ForecastComparison, ForecastSummary, Scores,
    StoredForecast, StoredSeries,
};
pub use forecasting::{
    ForecastAnswer, ForecastHour, ForecastRequest, ForecastSeries, MeterComponent, NodeIntervals,
    SkippedMeter,
};
pub use ingest::{IngestOptions, IngestReport, RefusedLine, EARLIEST_ACCEPTED_MS, MAX_FUTURE_MS};
pub use query::{group_unit, Aggregate, BucketValue, QueryAnswer, QuerySpec, SeriesAnswer, Target};
pub use registry::{MeterSeries, ReplacementRecord};
pub use schedules::{Assets, NodeSchedule, ScheduleRequest};
pub use shulv_forecast::ModelKind;
pub use tariffs::{PartProvenance, PeriodPrice, TariffSummary};
pub use weather::{WeatherFields, WeatherRequest, WeatherUsed};

/// Errors of the platform, each phrased for the person who sent the request.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The request is malformed or violates a rule.
    #[error("{0}")]
    Invalid(String),
    /// A named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change conflicts with the current state (e.g. a certificate retired already).
    #[error("{0}")]
    Conflict(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file of the data directory could not be read or written.
    #[error("i/o error: {0}")]
    Io(String),
    /// A file of the data directory is damaged.
    #[error("corrupt data directory: {0}")]
    Corrupt(String),
}

/// Settings of a platform instance.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// The data directory (registry, WAL, segments).
    pub data_dir: PathBuf,
    /// Raw points older than this are dropped at compaction; rollups are kept.
    pub raw_retention: Option<Duration>,
    /// Memtable size that triggers a flush to segments.
    pub memtable_max_points: usize,
    /// Age of the memtable that triggers a flush.
    pub flush_interval: Duration,
    /// Stored forecasts issued longer ago than this are deleted (the newest is always kept);
    /// none: kept for ever.
    pub forecast_retention: Option<Duration>,
}

impl PlatformConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let store = StoreConfig::new(data_dir.join("store"));
        PlatformConfig {
            data_dir,
            raw_retention: None,
            forecast_retention: None,
            memtable_max_points: store.memtable_max_points,
            flush_interval: store.flush_interval,
        }
    }
}

/// One shulv instance over one data directory.
pub struct Platform {
    data_dir: PathBuf,
    store: Store,
    registry: RwLock<registry::Registry>,
    /// Latest raw reading of each stateful (register, power) meter, by registry index.
    stateful: Mutex<HashMap<u32, (i64, f64)>>,
    /// The factor library: shipped files plus the user's files under `factors/`.
    library: RwLock<shulv_carbon::Library>,
    /// Green certificates and green-power trades.
    certificates: Mutex<certificates::CertificateBook>,
    /// Scope 3 activity data entered without meters.
    activity_data: Mutex<activity_data::ActivityBook>,
    /// Tariffs: shipped presets plus the user's versions under `tariffs/`.
    tariffs: RwLock<tariffs::Tariffs>,
    /// Forecasts kept as issued, under `forecasts/`.
    forecasts: Mutex<forecast_store::ForecastBook>,
}

impl Platform {
    /// Opens (or creates) the data directory, replays the WAL and loads the registry.
    pub fn open(config: PlatformConfig) -> Result<Self, PlatformError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", config.data_dir.display())))?;
        let mut store_config = StoreConfig::new(config.data_dir.join("store"));
        store_config.raw_retention = config.raw_retention;
        store_config.memtable_max_points = config.memtable_max_points;
        store_config.flush_interval = config.flush_interval;
        let store = Store::open(store_config)?;
        let registry = registry::Registry::open(&config.data_dir)?;
        backup::remove_stale_snapshots(&config.data_dir)?;
        let library = accounting::load_library(&config.data_dir)?;
        let tariffs = tariffs::load_tariffs(&config.data_dir)?;
        let platform = Platform {
            data_dir: config.data_dir.clone(),
            store,
            registry: RwLock::new(registry),
            stateful: Mutex::new(HashMap::new()),
            library: RwLock::new(library),
            certificates: Mutex::new(certificates::CertificateBook::open(&config.data_dir)?),
            activity_data: Mutex::new(activity_data::ActivityBook::open(&config.data_dir)?),
            tariffs: RwLock::new(tariffs),
            forecasts: Mutex::new(forecast_store::ForecastBook::open(
                &config.data_dir,
                config.forecast_retention,
            )?),
        };
        platform.register_all_series()?;
        Ok(platform)
    }

    /// Makes sure the store knows every meter's series and time zone.
    fn register_all_series(&self) -> Result<(), PlatformError> {
        let registry = self.registry.read();
        let tree = registry.tree();
        let mut series = Vec::new();
        for meter in tree.meters() {
            if let Some(s) = registry.series_of(&meter.id) {
                let tz = tree.timezone_of_node(&meter.node);
                series.push((s.quantity, tz));
                series.push((s.raw, tz));
            }
        }
        self.store.register_many(&series)?;
        Ok(())
    }

    /// Adds or updates nodes and meters. Returns the ids of meters that are new.
    pub fn apply_registry(&self, file: RegistryFile) -> Result<Vec<String>, PlatformError> {
        let added = self.registry.write().apply(file)?;
        self.register_all_series()?;
        Ok(added)
    }

    /// Declares that a cumulative meter was replaced.
    pub fn add_replacement(
        &self,
        meter_id: &str,
        record: ReplacementRecord,
    ) -> Result<(), PlatformError> {
        let mut registry = self.registry.write();
        match registry.tree().meter(meter_id) {
            Some(m) if m.reading == shulv_model::ReadingKind::Cumulative => {}
            Some(_) => {
                return Err(PlatformError::Invalid(format!(
                    "meter '{meter_id}' is not a cumulative register"
                )))
            }
            None => return Err(PlatformError::NotFound(format!("meter '{meter_id}'"))),
        }
        registry.add_replacement(meter_id, record)
    }

    /// A copy of the registry (tree and meters).
    pub fn registry_file(&self) -> RegistryFile {
        self.registry.read().tree().to_file()
    }

    /// Runs `f` with the validated tree and each meter's series ids (one consistent view).
    pub fn with_series<T>(
        &self,
        f: impl FnOnce(&shulv_model::Tree, &dyn Fn(&str) -> Option<MeterSeries>) -> T,
    ) -> T {
        let registry = self.registry.read();
        f(registry.tree(), &|meter| registry.series_of(meter))
    }

    /// Runs `f` with the validated tree.
    pub fn with_tree<T>(&self, f: impl FnOnce(&shulv_model::Tree) -> T) -> T {
        f(self.registry.read().tree())
    }

    /// Store statistics (WAL size, memtable, segments).
    pub fn store_stats(&self) -> StoreStats {
        self.store.stats()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The underlying store, for maintenance commands and integrity checks.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
