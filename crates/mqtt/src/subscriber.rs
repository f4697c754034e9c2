//! The subscription loop: connect, subscribe, decode, hand to the sink, then acknowledge.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter, SubscribeReasonCode};

use crate::config::{split_broker, MqttChannel};
use crate::decode::Decoder;
use crate::metrics::Metrics;
use crate::reading::Reading;

/// Where decoded readings go (the collector's fsync'd spool). A message is acknowledged to the
/// broker only after `accept` returned `Ok` for its readings.
pub trait Sink: Send {
    /// Stores the readings durably; `Err` (a reason) makes the loop wait and offer them again.
    fn accept(&mut self, readings: Vec<Reading>)
        -> impl Future<Output = Result<(), String>> + Send;
}

impl<F, Fut> Sink for F
where
    F: FnMut(Vec<Reading>) -> Fut + Send,
    Fut: Future<Output = Result<(), String>> + Send,
{
    fn accept(
        &mut self,
        readings: Vec<Reading>,
    ) -> impl Future<Output = Result<(), String>> + Send {
        self(readings)
    }
}

/// A checked channel, ready to run.
pub struct Subscriber {
    name: String,
    options: MqttOptions,
    decoders: Vec<Decoder>,
    metrics: Arc<Metrics>,
}

/// Waits after a refused batch before offering it again.
const SINK_RETRY: Duration = Duration::from_secs(2);
/// First and largest wait between connection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

impl Subscriber {
    /// Checks the channel (see [`MqttChannel::check`]); the problems if it is not valid.
    pub fn new(channel: &MqttChannel) -> Result<Self, Vec<String>> {
        let problems = channel.check();
        if !problems.is_empty() {
            return Err(problems);
        }
        let (host, port) = split_broker(&channel.broker).expect("checked");
        let mut options = MqttOptions::new(&channel.client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(channel.keep_alive))
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_max_packet_size(channel.max_message_bytes, 64 * 1024);
        if let Some(user) = &channel.username {
            options.set_credentials(user, channel.password.clone().unwrap_or_default());
        }
        let decoders: Vec<Decoder> = channel
            .subscriptions
            .iter()
            .map(|s| Decoder::new(s).expect("checked"))
            .collect();
        Ok(Subscriber {
            name: channel.name.clone(),
            options,
            metrics: Arc::new(Metrics::new(decoders.iter().map(Decoder::filter))),
            decoders,
        })
    }

    /// The channel's counters (shared; they keep changing while [`Subscriber::run`] runs).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Connects, subscribes and decodes until the task is dropped or aborted. Reconnects with
    /// back-off (1 s doubling to 60 s) and subscribes again after every connection. Readings
    /// of a message go to `sink` before the message is acknowledged; a refused batch is offered
    /// again every 2 s, and meanwhile nothing else is read (the broker keeps the rest).
    pub async fn run(self, mut sink: impl Sink) {
        let (client, mut events) = AsyncClient::new(self.options.clone(), 1024);
        let filters: Vec<SubscribeFilter> = self
            .decoders
            .iter()
            .map(|d| {
                let qos = if d.qos() == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                SubscribeFilter::new(d.filter().to_string(), qos)
            })
            .collect();
        let name = &self.name;
        let mut backoff = BACKOFF.0;
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    self.metrics.connected();
                    backoff = BACKOFF.0;
                    tracing::info!(
                        channel = %name,
                        session_present = ack.session_present,
                        "connected to the MQTT broker"
                    );
                    if let Err(e) = client.try_subscribe_many(filters.clone()) {
                        tracing::error!(channel = %name, "cannot subscribe: {e}");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let mut granted = true;
                    for (code, f) in ack.return_codes.iter().zip(&filters) {
                        if *code == SubscribeReasonCode::Failure {
                            granted = false;
                            tracing::error!(channel = %name, topic = %f.path, "broker refused the subscription");
                        }
                    }
                    self.metrics.subscribed(granted);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    self.handle(&publish.topic, &publish.payload, &mut sink)
                        .await;
                    if publish.qos != QoS::AtMostOnce {
                        if let Err(e) = client.try_ack(&publish) {
                            tracing::warn!(channel = %name, "ack not sent ({e}); the broker will redeliver");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.metrics.disconnected();
                    tracing::warn!(channel = %name, "MQTT connection: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF.1);
                }
            }
        }
    }

    /// Decodes one message and hands its readings to the sink until it accepts them.
    async fn handle(&self, topic: &str, payload: &[u8], sink: &mut impl Sink) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let index = self.decoders.iter().position(|d| d.matches(topic));
        self.metrics.message(index, now_ms);
        let Some(index) = index else {
            tracing::warn!(channel = %self.name, %topic, "message matches no subscription; skipped");
            return;
        };
        let decoded = self.decoders[index].decode(topic, payload, now_ms);
        for e in &decoded.errors {
            tracing::warn!(channel = %self.name, %topic, "not forwarded: {e}");
        }
        self.metrics
            .decoded(index, decoded.readings.len(), decoded.errors.len());
        if decoded.readings.is_empty() {
            return;
        }
        while let Err(e) = sink.accept(decoded.readings.clone()).await {
            self.metrics.sink_error();
            tracing::error!(
                channel = %self.name,
                %topic,
                "sink refused {} readings ({e}); message not acknowledged, retrying in {SINK_RETRY:?}",
                decoded.readings.len()
            );
            tokio::time::sleep(SINK_RETRY).await;
        }
    }
}
