#!/usr/bin/env bash
# Installs, idempotently, what building and testing shulv needs beyond a Rust toolchain, so the
# README's two commands work on a fresh Debian machine. `bash scripts/setup.sh` prepares a build
# of the product; `bash scripts/setup.sh --tests` also prepares what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build needs (each with the reason).
build_packages=(
  cmake        # highs-sys builds the HiGHS solver (crates/optimise) from source with CMake
  g++          # ... which is C++
  libclang-dev # ... and generates its Rust bindings with bindgen, which loads libclang
)
# Debian packages only the tests need.
test_packages=(
  chromium        # headless browser of the console's end-to-end tests (scripts/console-test.sh)
  chromium-driver # its driver tooling, as Debian ships it alongside
  fonts-wqy-microhei # a CJK font, so the Chinese pages render in the tests' screenshots
  socat           # a virtual serial pair for the Modbus RTU and DL/T 645 collection tests
  mosquitto       # the MQTT broker of the collection tests
  influxdb-client # the InfluxDB 1.x shell `influx` (1.6.7), a real client of the InfluxQL tests
  openjdk-17-jre-headless # Spark's JVM (region/spark jobs and their check; Spark 4.0 wants 17)
)
# Python packages only the tests need (PyPI, pinned): real devices and clients nobody here wrote.
pip_test_packages=(
  pymodbus==3.16.1   # Modbus TCP/RTU device simulator (collection tests)
  pyserial==3.5      # ... its serial transport
  dlt645==3.2.0      # DL/T 645-2007 meter simulator (collection tests)
  schemathesis==4.32.5 # generated requests against /openapi.json (hardening tests)
  influxdb==5.3.2  # InfluxDB 1.x Python client (v1 write compatibility tests)
  pyarrow==26.0.1  # reads the store's Parquet files as one dataset (store format tests)
  duckdb==2.0.1    # ... and so does DuckDB
  pyspark==4.0.1   # Apache Spark (local mode) for the region jobs (region/spark, bench/region.sh)
)

wanted=("${build_packages[@]}")
if [[ "${1:-}" == "--tests" ]]; then
  wanted+=("${test_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ "$(id -u)" != 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" == "--tests" ]]; then
  missing_pip=()
  for spec in "${pip_test_packages[@]}"; do
    name=${spec%%==*} version=${spec##*==}
    installed=$(python3 -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
    [[ "$installed" == "$version" ]] || missing_pip+=("$spec")
  done
  if ((${#missing_pip[@]})); then
    echo "== installing Python packages: ${missing_pip[*]}"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${missing_pip[@]}"
  fi
fi

# s3s-fs (crates.io): an S3-compatible server over a local directory, the object store of the
# region tests (crates/cli/tests/e2e/region.rs). Built once into ~/.cache/shulv-tools.
if [[ "${1:-}" == "--tests" ]]; then
  s3s_fs_version=0.14.1 # the newest that builds with the pinned Rust 1.95
  tools="$HOME/.cache/shulv-tools"
  if ! "$tools/bin/s3s-fs" --version 2>/dev/null | grep -qx "s3s-fs $s3s_fs_version"; then
    echo "== installing s3s-fs $s3s_fs_version (cargo install, about 2 minutes)"
    CARGO_TARGET_DIR="$tools/build" cargo install --quiet --locked --root "$tools" \
      --features binary "s3s-fs@$s3s_fs_version"
    rm -rf "$tools/build"
  fi
fi

# cargo-deny (crates.io): checks the dependency tree's licences, duplicate versions and sources
# against deny.toml in the test command. Built once into ~/.cache/shulv-tools.
if [[ "${1:-}" == "--tests" ]]; then
  cargo_deny_version=0.18.9
  tools="$HOME/.cache/shulv-tools"
  if ! "$tools/bin/cargo-deny" --version 2>/dev/null | grep -qx "cargo-deny $cargo_deny_version"; then
    echo "== installing cargo-deny $cargo_deny_version (cargo install, a few minutes)"
    CARGO_TARGET_DIR="$tools/build-deny" cargo install --quiet --locked --root "$tools" \
      "cargo-deny@$cargo_deny_version"
    rm -rf "$tools/build-deny"
  fi
fi

# The web console (web/, Vite + Vue + ECharts) is built into web/dist, which the server crate
# embeds at compile time: (re)build it when it is missing or older than its sources.
if ! command -v npm >/dev/null; then
  echo "npm (Node.js 20.19 or newer) is required to build the web console (web/)" >&2
  exit 1
fi
if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "== installing the console's npm packages (npm ci)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
stamp=web/dist/index.html
if [[ ! -f "$stamp" ]] || [[ -n "$(find web/src web/public web/index.html web/vite.config.js web/package.json web/package-lock.json -newer "$stamp" -print -quit)" ]]; then
  echo "== building the web console (npm run build)"
  (cd web && npm run build --silent)
fi
