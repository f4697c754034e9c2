//! The end-to-end tests of the `shulv` binary, in one test binary (one link step instead of one
//! per file on two cores). Each module starts the real binary (`CARGO_BIN_EXE_shulv`) and the
//! real programs it talks to (pymodbus, Mosquitto, the InfluxDB clients, Spark, Chromium …) on
//! 127.0.0.1, and stops them; `common` is the shared harness, `../fixtures` the shared files.
//!
//! Run one module: `cargo test --release -p shulv-cli --test e2e http::`.

mod common;

mod access;
mod accounting;
mod backup;
mod bad_inputs;
mod closed_pipe;
mod collect_dlt645_mqtt;
mod collect_faults;
mod collect_modbus;
mod connections;
mod crash;
mod demo;
mod evaluate_cli;
mod forecast;
mod forecast_predict;
mod full_disk;
mod http;
mod influx_v1;
mod influxql;
mod optimise;
mod region;
mod schemathesis;
mod spool_forward;
mod weather;
