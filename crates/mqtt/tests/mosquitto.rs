//! Against the real Mosquitto broker (Debian's `mosquitto`, installed by scripts/setup.sh):
//! both JSON shapes and line protocol arrive decoded, a bad message is counted and skipped,
//! QoS 1 messages published while the subscriber is down arrive after it restarts with the
//! same client id (and the broker restarted meanwhile), and a message whose readings the sink
//! refused is delivered again.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use shulv_mqtt::{Metrics, MqttChannel, Reading, Snapshot, Subscriber};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A broker on a free loopback port, killed when dropped.
struct Broker {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        assert!(
            Path::new(MOSQUITTO).exists(),
            "{MOSQUITTO} is missing: run scripts/setup.sh (Debian package mosquitto)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Self::spawn(dir.path(), port);
        Broker { child, port, dir }
    }

    /// Stops the broker with SIGTERM (it saves its persistence file) and starts it again on
    /// the same port and directory.
    fn restart(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        self.child = Self::spawn(self.dir.path(), self.port);
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {}/\nuser root\nlog_dest file {}/mosquitto.log\n",
                dir.display(),
                dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn channel(port: u16, client_id: &str) -> MqttChannel {
    toml::from_str(&format!(
        r#"
name = "gw"
broker = "127.0.0.1:{port}"
client_id = "{client_id}"
keep_alive = 5

[[subscription]]
topic = "site/+/meter/+/data"
format = "json"
timestamp = "/ts"
[[subscription.value]]
path = "/data/Ep_imp"
meter = "{{topic.2}}.{{/deviceId}}.ep"
[[subscription.value]]
path = "/data/P"
meter = "{{topic.2}}.{{/deviceId}}.p"
min = 0
max = 10000

[[subscription]]
topic = "gateway/+/report"
format = "json"
timestamp = "/time"
[subscription.points]
devices = "/devices"
device = "/name"
points = "/points"
meter = "{{device}}.{{name}}"

[[subscription]]
topic = "telegraf/#"
format = "line-protocol"
precision = "ms"
"#
    ))
    .unwrap()
}

/// Runs a subscriber whose sink sends every batch to the returned receiver (or refuses all
/// batches when `refuse`).
fn spawn(
    channel: &MqttChannel,
    refuse: bool,
) -> (
    JoinHandle<()>,
    Arc<Metrics>,
    mpsc::UnboundedReceiver<Vec<Reading>>,
) {
    let subscriber = Subscriber::new(channel).unwrap();
    let metrics = subscriber.metrics();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(subscriber.run(move |readings: Vec<Reading>| {
        let tx = tx.clone();
        async move {
            if refuse {
                return Err("disk full (test)".to_string());
            }
            tx.send(readings).map_err(|e| e.to_string())
        }
    }));
    (task, metrics, rx)
}

async fn until(metrics: &Metrics, what: &str, done: impl Fn(&Snapshot) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done(&metrics.snapshot()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            metrics.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes with QoS 1 and returns once the broker acknowledged every message.
async fn publish(port: u16, messages: &[(&str, &str)]) {
    let mut options = MqttOptions::new("shulv-test-publisher", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(options, 64);
    for (topic, payload) in messages {
        client
            .publish(*topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }
    let mut acked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while acked < messages.len() {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher: {e}"),
            Err(_) => panic!("publisher: {acked} of {} acknowledged", messages.len()),
        }
    }
    client.disconnect().await.unwrap();
    while events.poll().await.is_ok() {}
}

async fn receive(rx: &mut mpsc::UnboundedReceiver<Vec<Reading>>, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(15), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("got only {lines:?}"))
            .unwrap();
        lines.extend(batch.iter().map(Reading::to_line_protocol));
    }
    lines
}

const SHAPE_A: &str =
    r#"{"ts": 1735660800000, "deviceId": "PM-01", "data": {"Ep_imp": 52811.2, "P": 120.5}}"#;
const SHAPE_B: &str = r#"{"time": "2025-01-01 00:15:00", "devices": [{"name": "PM-02", "points": [{"name": "Ep_imp", "value": 1024.5}]}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_shapes_and_line_protocol_arrive_and_a_bad_message_is_skipped() {
    let broker = Broker::start();
    let (task, metrics, mut rx) = spawn(&channel(broker.port, "shulv-test-shapes"), false);
    until(&metrics, "the subscriptions", |s| s.subscribed).await;
    publish(
        broker.port,
        &[
            ("site/b3/meter/7/data", "{\"ts\": 17356608"),
            ("site/b3/meter/7/data", SHAPE_A),
            ("gateway/gw7/report", SHAPE_B),
            (
                "site/b3/meter/8/data",
                r#"{"ts": 1735660800000, "deviceId": "PM-03", "data": {"Ep_imp": 7, "P": -5}}"#,
            ),
            ("telegraf/b1", "pm9,unit=kWh value=3.5 1735660800000"),
        ],
    )
    .await;
    let lines = receive(&mut rx, 5).await;
    assert_eq!(
        lines,
        [
            "b3.PM-01.ep value=52811.2 1735660800000",
            "b3.PM-01.p value=120.5 1735660800000",
            "PM-02.Ep_imp value=1024.5 1735661700000",
            "b3.PM-03.ep value=7 1735660800000",
            "pm9,unit=kWh value=3.5 1735660800000",
        ]
    );
    let s = metrics.snapshot();
    let counts: Vec<(u64, u64, u64)> = s
        .subscriptions
        .iter()
        .map(|s| (s.messages, s.readings, s.decode_errors))
        .collect();
    // Bad JSON and a power below its declared minimum: counted, not forwarded.
    assert_eq!(counts, [(3, 3, 2), (1, 1, 0), (1, 1, 0)]);
    assert!(s.connected && s.last_message_ms.is_some());
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_messages_published_while_down_arrive_after_restarts() {
    let mut broker = Broker::start();
    let channel = channel(broker.port, "shulv-test-persistent");
    let (task, metrics, _rx) = spawn(&channel, false);
    until(&metrics, "the subscriptions", |s| s.subscribed).await;
    task.abort();
    let _ = task.await;

    publish(
        broker.port,
        &[
            ("site/b1/meter/1/data", SHAPE_A),
            ("gateway/gw1/report", SHAPE_B),
        ],
    )
    .await;
    // The broker's queue of the session survives its own restart (persistence true).
    broker.restart();

    let (task, metrics, mut rx) = spawn(&channel, false);
    let lines = receive(&mut rx, 3).await;
    assert_eq!(
        lines,
        [
            "b1.PM-01.ep value=52811.2 1735660800000",
            "b1.PM-01.p value=120.5 1735660800000",
            "PM-02.Ep_imp value=1024.5 1735661700000",
        ]
    );
    assert_eq!(metrics.snapshot().connects, 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_sink_refused_is_not_acknowledged_and_comes_again() {
    let broker = Broker::start();
    let channel = channel(broker.port, "shulv-test-refused");
    let (task, metrics, _rx) = spawn(&channel, true);
    until(&metrics, "the subscriptions", |s| s.subscribed).await;
    publish(broker.port, &[("telegraf/x", "pm1 value=1 1735660800000")]).await;
    until(&metrics, "a refusal", |s| s.sink_errors >= 1).await;
    task.abort();
    let _ = task.await;

    let (task, _metrics, mut rx) = spawn(&channel, false);
    assert_eq!(receive(&mut rx, 1).await, ["pm1 value=1 1735660800000"]);
    task.abort();
}
