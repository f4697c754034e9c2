//! shulv-collect: the field collector (现场采集). Reads Modbus TCP/RTU and DL/T 645 devices on
//! the wall clock, checks and scales their values, and queues them as line-protocol readings in the
//! local spool, from which they are forwarded to a shulv server (see docs/collect.md), to which
//! it also reports its devices' status.

pub mod channel;
pub mod config;
pub mod decode;
pub mod dlt645;
pub mod lateness;
pub mod metrics;
pub mod modbus;
pub mod plan;
pub mod point_table;
pub mod probe;
pub mod problem;
pub mod reading;
pub mod report;
pub mod run;
pub mod schedule;
pub mod serial;
