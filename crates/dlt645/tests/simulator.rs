//! The client against a real DL/T 645-2007 meter simulator: the PyPI package `dlt645` 3.2.0
//! (installed by scripts/setup.sh), run by tests/meter_sim.py, over TCP on 127.0.0.1 and over
//! a virtual serial pair made by socat.
//!
//! Known deviations of the simulator from the standard (the codec is not bent for them):
//! - it answers a wildcard request (AAAAAAAAAAAA) with the wildcard as its address, where a
//!   meter must give its real address; partial wildcards (缩位寻址) get an error reply;
//! - it answers a request for another meter's address with an error reply (其他错误), where a
//!   meter on a bus must stay silent;
//! - `set_address("...")` stores the digits in wire order unreversed (the script passes bytes);
//! - it does not implement follow-up frames (0x12): unit tests cover them (tests/client.rs).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use shulv_dlt645::{Address, Client, Di, Error, Format, MeterTime, Value};
use tokio::io::{AsyncRead, AsyncWrite};

const TIMEOUT: Duration = Duration::from_secs(3);
const ADDRESS: &str = "000000001234";

/// Values set in the simulator and what the client must read back, digit for digit.
const VALUES: &[(u32, f64, &str)] = &[
    (0x0000_0000, -123.45, "-123.45"),
    (0x0001_0000, 12345.67, "12345.67"),
    (0x0001_0100, 4321.09, "4321.09"),
    (0x0002_0000, 0.01, "0.01"),
    (0x0201_0100, 231.4, "231.4"),
    (0x0201_0200, 229.8, "229.8"),
    (0x0202_0100, -12.345, "-12.345"),
    (0x0203_0000, -3.2109, "-3.2109"),
    (0x0205_0000, 7.0711, "7.0711"),
    (0x0206_0000, 0.987, "0.987"),
    (0x0280_0002, 49.98, "49.98"),
];
const DEMAND: (u32, f64, &str) = (0x0101_0000, 12.3456, "2026-12-07 15:30");

/// A child process killed (and reaped) when dropped, whatever the test did.
struct Process {
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/meter_sim.py with `where_args` and waits for its "READY <where>" line.
fn simulator(where_args: &[&str]) -> (Process, String) {
    let mut values: Vec<String> = VALUES
        .iter()
        .map(|(di, v, _)| format!("\"{:08X}\": {v}", di))
        .collect();
    values.push(format!(
        "\"{:08X}\": [{}, \"{}\"]",
        DEMAND.0, DEMAND.1, DEMAND.2
    ));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/meter_sim.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(where_args)
        .args(["--address", ADDRESS, "--values"])
        .arg(format!("{{{}}}", values.join(", ")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/setup.sh installs it with the dlt645 package)");
    let stdin = child.stdin.take();
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let process = Process {
        child,
        _stdin: stdin,
    };
    let ready = line.strip_prefix("READY ").unwrap_or_else(|| {
        panic!("simulator did not start (pip install dlt645==3.2.0?): {line:?}")
    });
    (process, ready.trim().to_string())
}

/// Reads every value, the demand, the address; checks error replies.
async fn read_everything<T: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<T>) {
    let meter: Address = ADDRESS.parse().unwrap();
    assert_eq!(client.read_address(TIMEOUT).await.unwrap(), meter);
    for &(di, _, expected) in VALUES {
        let v = client.read(meter, Di(di), TIMEOUT).await.unwrap();
        assert_eq!(v.to_string(), expected, "{:08X}", di);
    }
    let demand = client
        .read_demand(meter, Di(DEMAND.0), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(demand.value, Value::new(123_456, 4));
    assert_eq!(
        demand.at,
        MeterTime {
            year: 2026,
            month: 12,
            day: 7,
            hour: 15,
            minute: 30,
            second: 0
        }
    );
    // The single meter answers the wildcard address too.
    let v = client
        .read(Address::WILDCARD, Di(0x0001_0000), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(v.to_string(), "12345.67");
    // An identifier it does not have: an error reply naming 无请求数据.
    let block = Format {
        len: 6,
        decimals: 1,
        signed: false,
        time: false,
    };
    let err = client
        .read_with(meter, Di(0x0201_FF00), block, TIMEOUT)
        .await
        .unwrap_err();
    let Error::ErrorReply {
        control: 0xD1,
        code,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(code.reasons(), [("无请求数据", "no requested data")]);
    // The connection still works after an error.
    let v = client.read(meter, Di(0x0201_0100), TIMEOUT).await.unwrap();
    assert_eq!(v, Value::new(2314, 1));
}

#[tokio::test]
async fn tcp_gateway() {
    let (_sim, port) = simulator(&["--tcp", "0"]);
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
        .await
        .unwrap();
    let mut client = Client::new(stream);
    read_everything(&mut client).await;
}

#[tokio::test]
async fn serial_pair() {
    let dir = std::env::temp_dir().join(format!("shulv-dlt645-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (meter_side, our_side) = (dir.join("meter"), dir.join("collector"));
    let _socat = Process {
        child: Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", meter_side.display()))
            .arg(format!("pty,raw,echo=0,link={}", our_side.display()))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (scripts/setup.sh installs it)"),
        _stdin: None,
    };
    wait_for(&[&meter_side, &our_side]);
    let (_sim, _) = simulator(&["--serial", meter_side.to_str().unwrap()]);
    // 2400 bit/s, 8 data bits, even parity, 1 stop bit: the standard's default line.
    let port = tokio_serial::SerialStream::open(
        &tokio_serial::new(our_side.to_str().unwrap(), 2400)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(tokio_serial::Parity::Even)
            .stop_bits(tokio_serial::StopBits::One),
    )
    .unwrap();
    // Two wake-up bytes here (four over TCP): the simulator takes 0..4.
    let mut client = Client::new(port).with_preamble(2);
    read_everything(&mut client).await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_for(paths: &[&PathBuf]) {
    let start = Instant::now();
    while !paths.iter().all(|p| p.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "socat made no ptys"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
