#!/usr/bin/env bash
# Installs the Debian 12 packages tokend needs to build, test and run its demo. Only what is
# missing is installed; with everything present it does nothing (and needs no network).
# --list prints the packages instead.
set -euo pipefail

packages=(
  # Toolchains: GCC for the release and sanitizer builds; clang for -Wthread-safety and
  # libFuzzer (whose runtime is in libclang-rt-14-dev).
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config
  # Libraries.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libssl-dev prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev nlohmann-json3-dev
  libcpp-httplib-dev
  # Tests and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev
  # prometheus: promtool and a real Prometheus server for the metrics tests; yamllint for the
  # Kubernetes manifests; curl to query Prometheus in a test; faketime to move tokend's wall
  # clock (and only it) in the clock-jump tests; openssl for a TLS server with an untrusted
  # certificate in the TLS failure test.
  prometheus yamllint curl faketime openssl
)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (or install those packages first)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
