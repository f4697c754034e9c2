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
