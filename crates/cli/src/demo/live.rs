//! The demo's live data: three of the park's meters are read by a real collector from
//! simulated devices on loopback (crate `shulv-fieldsim`), and every other meter receives its
//! readings each quarter hour, so the park stays current while the demo runs.
//!
//! The devices: a Modbus TCP gateway with a power analyser on the cold-chain warehouse's
//! chiller (unit 1, f32 kW, read every 10 s) and the cooling tower's make-up water meter (unit
//! 2, u32 in 0.01 m³ with swapped words, every 15 minutes), and a DL/T 645-2007 meter on the
//! cold store behind a transparent TCP gateway (正向有功总电能 with a CT ratio 倍率 of 10, every
//! 15 minutes). The collector's configuration and point table (点表) are written to
//! `<data>/demo-collector/` as a worked example; its queue lives there too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use shulv_fieldsim::{dlt645, modbus, Signal};
use shulv_platform::Platform;
use shulv_server::shulv_auth::{AccessControl, AuditEntry, NewCredential, Role, Scope};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::timeline::Timeline;

/// The DL/T 645 meter's meter id (cumulative kWh).
const COLD_STORE: &str = "ent07.cold1.elec";
/// The power analyser's meter id (kW).
const CHILLER: &str = "ent08.cooling.chiller1.elec";
/// The water meter's meter id (cumulative m³).
const MAKE_UP_WATER: &str = "ent08.cooling.water";
/// Meters the collector reads; the quarter-hourly feed leaves them alone.
pub const COLLECTED: [&str; 3] = [COLD_STORE, CHILLER, MAKE_UP_WATER];
/// CT ratio (倍率) of the DL/T 645 meter: it shows a tenth of the energy.
const CT_RATIO: f64 = 10.0;
/// The DL/T 645 meter's address, as printed on its name plate.
const METER_ADDRESS: &str = "000007000101";
/// Name of the collector's device token (replaced on every start).
const TOKEN_NAME: &str = "demo collector";
/// The feed waits this long after each quarter hour, so the quarter's readings are due.
const FEED_DELAY: Duration = Duration::from_secs(5);

/// The running devices, collector and feed.
pub struct Live {
    stop: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
    collector: JoinHandle<()>,
    /// Where the collector's files are.
    pub dir: PathBuf,
    /// The simulated Modbus TCP gateway and DL/T 645 gateway.
    pub devices: (SocketAddr, SocketAddr),
}

/// A new `device` token for the demo collector, scoped to the park (earlier ones revoked).
pub fn collector_token(access: &AccessControl) -> anyhow::Result<String> {
    let by = "demo start";
    for old in access.tokens() {
        if old.name == TOKEN_NAME && old.revoked_ms.is_none() {
            access.revoke_token(&old.id)?;
        }
    }
    let new = NewCredential {
        name: TOKEN_NAME.to_string(),
        role: Role::Device,
        scope: Scope::Node(shulv_demo::PARK_ID.to_string()),
        aggregates_only: false,
    };
    let (record, secret) = access.create_token(&new, None, by)?;
    access.audit.record(
        &AuditEntry::now(by, "token.create", format!("token:{}", record.id)).details(
            serde_json::json!({"name": TOKEN_NAME, "role": "device", "scope": shulv_demo::PARK_ID}),
        ),
    )?;
    Ok(secret)
}

impl Live {
    /// Starts the devices, the collector (writing to `server` with `token`) and the feed.
    /// `timeline` feeds the other meters (the devices build their own).
    pub async fn start(
        platform: Arc<Platform>,
        timeline: Timeline,
        data_dir: &Path,
        server: SocketAddr,
        token: String,
    ) -> anyhow::Result<Live> {
        // The devices' own timeline, with the current year built before they answer.
        let shown = tokio::task::spawn_blocking(|| {
            let mut t = Timeline::new();
            t.years_until(chrono::Utc::now().timestamp_millis());
            t
        })
        .await?;
        let shown = Arc::new(Mutex::new(shown));
        let signal = |meter: &'static str, divisor: f64| -> Signal {
            let timeline = shown.clone();
            Arc::new(move |now| {
                let mut t = timeline.lock().ok()?;
                t.value_at(meter, now).map(|v| v / divisor)
            })
        };
        let bind = || TcpListener::bind("127.0.0.1:0");
        let (gateway, meter_gateway) = (bind().await?, bind().await?);
        let devices = (gateway.local_addr()?, meter_gateway.local_addr()?);
        let units = vec![
            modbus::Unit {
                id: 1,
                registers: vec![modbus::Register {
                    address: 0,
                    encoding: modbus::Encoding::F32Abcd,
                    signal: signal(CHILLER, 1.0),
                }],
            },
            modbus::Unit {
                id: 2,
                registers: vec![modbus::Register {
                    address: 0x10,
                    encoding: modbus::Encoding::U32Cdab { resolution: 0.01 },
                    signal: signal(MAKE_UP_WATER, 1.0),
                }],
            },
        ];
        let meter = dlt645::Meter {
            address: METER_ADDRESS.parse().expect("a valid address"),
            values: HashMap::from([(shulv_dlt645::Di(0x0001_0000), signal(COLD_STORE, CT_RATIO))]),
        };
        let mut tasks = vec![
            tokio::spawn(async move {
                if let Err(e) = modbus::serve(gateway, units).await {
                    tracing::error!("demo Modbus gateway stopped: {e}");
                }
            }),
            tokio::spawn(async move {
                if let Err(e) = dlt645::serve(meter_gateway, meter).await {
                    tracing::error!("demo DL/T 645 gateway stopped: {e}");
                }
            }),
        ];

        let dir = data_dir.join("demo-collector");
        let config_path = write_config(&dir, server, devices)?;
        let mut config = shulv_collect::config::load(&config_path).map_err(|problems| {
            anyhow::anyhow!("the demo collector's configuration: {problems}")
        })?;
        config.target.token = Some(token);
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let collector = tokio::spawn(async move {
            let shutdown = async move { stopped.notified().await };
            if let Err(e) = shulv_collect::run::run_until(config, shutdown).await {
                tracing::error!("demo collector stopped: {e}");
            }
        });
        tasks.push(tokio::spawn(feed(platform, timeline)));
        Ok(Live {
            stop,
            tasks,
            collector,
            dir,
            devices,
        })
    }

    /// Stops the collector (its queue keeps what the server has not taken), then the rest.
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.collector.await;
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Writes `collect.toml` and `points.csv` into `dir`; returns the configuration's path.
fn write_config(
    dir: &Path,
    server: SocketAddr,
    (gateway, meter_gateway): (SocketAddr, SocketAddr),
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = format!(
        r#"# The demo's collector (written on every start of `shulv demo`): simulated devices on
# loopback, read as a site's devices would be. See docs/collect.md.
points = "points.csv"

[collector]
name = "demo-park"                 # how the server's console names this collector

[server]
url = "http://{server}"
# The token is a `device` token made on every demo start; it is not stored here.

[spool]
dir = "spool"

[[channel]]
name = "gw-cooling"                # Modbus TCP gateway in the data centre's cooling plant
kind = "modbus-tcp"
address = "{gateway}"

[[channel]]
name = "gw-cold1"                  # transparent serial server (串口服务器) before the meter's RS-485
kind = "dlt645-tcp"
address = "{meter_gateway}"

[[device]]
name = "chiller1-pm"               # power analyser on chiller 1
channel = "gw-cooling"
unit = 1
period = "10s"

[[device]]
name = "tower-water"               # cooling tower make-up water meter
channel = "gw-cooling"
unit = 2
period = "15m"

[[device]]
name = "cold1-meter"               # 多功能电能表 of cold store 1, CT ratio (倍率) {CT_RATIO}
channel = "gw-cold1"
address = "{METER_ADDRESS}"
period = "15m"
"#
    );
    let points = format!(
        "# 点表 of the demo's devices\n\
         device,point,address,function,type,order,scale,unit,min,max,meter,kind\n\
         chiller1-pm,P,0,3,f32,ABCD,1,kW,0,5000,{CHILLER},instantaneous\n\
         tower-water,total,0x10,3,u32,CDAB,0.01,m3,0,,{MAKE_UP_WATER},cumulative\n\
         cold1-meter,EP+,00010000,,,,{CT_RATIO},kWh,0,,{COLD_STORE},cumulative\n"
    );
    let config_path = dir.join("collect.toml");
    std::fs::write(&config_path, config)
        .and_then(|()| std::fs::write(dir.join("points.csv"), points))
        .with_context(|| format!("writing the demo collector's files in {}", dir.display()))?;
    Ok(config_path)
}

/// Every quarter hour (a few seconds after), ingests the readings that came due for every
/// meter the collector does not read.
async fn feed(platform: Arc<Platform>, timeline: Timeline) {
    let timeline = Arc::new(Mutex::new(timeline));
    const QUARTER_MS: i64 = 900_000;
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let next = (now.div_euclid(QUARTER_MS) + 1) * QUARTER_MS;
        tokio::time::sleep(Duration::from_millis((next - now) as u64) + FEED_DELAY).await;
        let (platform, timeline) = (platform.clone(), timeline.clone());
        let fed = tokio::task::spawn_blocking(move || {
            let mut timeline = timeline
                .lock()
                .map_err(|_| anyhow::anyhow!("timeline lock"))?;
            let now = chrono::Utc::now().timestamp_millis();
            super::catch_up(&platform, &mut timeline, now, |id| !COLLECTED.contains(&id))
        })
        .await;
        match fed {
            Ok(Ok(n)) => tracing::info!("demo feed: {n} readings"),
            Ok(Err(e)) => tracing::error!("demo feed: {e:#}"),
            Err(e) => tracing::error!("demo feed: {e}"),
        }
    }
}
