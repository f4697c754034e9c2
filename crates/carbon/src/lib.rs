//! # shulv-carbon
//!
//! Energy and carbon accounting of shulv (数绿) from activity data (meter quantities per
//! period), with a factor library that ships as data files in this crate (`data/`), each row
//! with publisher, document number, data year, publication date, table, unit and verification
//! status:
//!
//! - [`library`]: the factor library (grid electricity factors of the national carbon market
//!   and of MEE/NBS in three 口径, fuel parameters of the Chinese guidelines and IPCC 2006,
//!   GWP sets, GB/T 2589 standard-coal coefficients), user additions and versions;
//! - [`inventory`]: the GHG inventory (Scope 1 by source, Scope 2 location- and market-based,
//!   Scope 3 from activity data) under an explicit [`Regime`];
//! - [`energy`]: comprehensive energy consumption (综合能耗, GB/T 2589-2020) in tce;
//! - [`grade`]: the industrial carbon-efficiency code (工业碳效码, DB33/T 1347-2023).
//!
//! No I/O: callers pass the activity data; every result names the factors (id and version),
//! the regime and the GWP set it used, so it can be recomputed by hand.

pub mod energy;
pub mod grade;
pub mod inventory;
pub mod library;

pub use energy::{
    comprehensive_energy, ElectricityConvention, EnergyAccount, EnergyError, EnergyLine,
    EnergySettings, GasCoefficient,
};
pub use grade::{carbon_efficiency, CarbonEfficiency, CarbonLevel, EfficiencyInput, GradeError};
pub use inventory::{
    inventory, Activity, Caliber, Grid, GwpSet, Instrument, Inventory, InventoryError, Line,
    Location, Regime, Scope, ScopeTotal, Settings, SuppliedActivity,
};
pub use library::{FactorRef, Library, LibraryError, Status};
