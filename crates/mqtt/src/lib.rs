//! # shulv-mqtt
//!
//! The MQTT channel of `shulv collect`: subscribes to a broker with a persistent session,
//! decodes each message (InfluxDB line protocol with the server's own parser, or JSON with a
//! field mapping) into [`Reading`]s, hands them to a [`Sink`] (the collector's fsync'd spool)
//! and only then acknowledges QoS 1 messages, so a crash never loses an acknowledged message.
//! Values that cannot be decoded (bad JSON, missing fields, NaN, out of the declared range,
//! a meter id outside the allowed list) are logged with the topic, counted and never forwarded.
//!
//! ```no_run
//! # async fn example(channel: shulv_mqtt::MqttChannel) {
//! let subscriber = shulv_mqtt::Subscriber::new(&channel).expect("valid channel");
//! let metrics = subscriber.metrics();
//! subscriber
//!     .run(|readings: Vec<shulv_mqtt::Reading>| async move {
//!         for r in &readings {
//!             println!("{}", r.to_line_protocol());
//!         }
//!         Ok(())
//!     })
//!     .await;
//! # let _ = metrics;
//! # }
//! ```

#![warn(missing_docs)]

mod config;
mod decode;
mod json;
mod metrics;
mod reading;
mod subscriber;
mod template;

pub use config::{Format, MqttChannel, Points, Subscription, TimestampUnit, ValueEntry};
pub use decode::{Decoded, Decoder};
pub use metrics::{Metrics, Snapshot, SubscriptionSnapshot};
pub use reading::Reading;
pub use subscriber::{Sink, Subscriber};
