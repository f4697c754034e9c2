//! Reports: placeholder replaced below.
