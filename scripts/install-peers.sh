#!/usr/bin/env bash
# Install the real AMQP 1.0 peers used by the interop tests (see test/interop/support/peers.ts):
# Qpid Proton (Python binding + C examples and headers), uAMQP (Python), RabbitMQ, openssl, gcc, pkg-config,
# tinyproxy (the proxy tests) and Chromium (the browser tests).
# Idempotent, non-interactive, Debian 12, as root (or with sudo). Starts no service.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  python3-qpid-proton
  libqpid-proton11-dev
  libqpid-proton11-dev-examples
  python3-uamqp
  rabbitmq-server
  openssl
  gcc
  libc6-dev
  pkg-config
  tinyproxy
  chromium
)

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -E"
  else
    echo "install-peers: must run as root (or have sudo)" >&2
    exit 1
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-peers: all ${#PACKAGES[@]} packages already installed: ${PACKAGES[*]}"
else
  echo "install-peers: missing: ${missing[*]}"
  # Services must not start on install: keep (or add, for this run only) a policy-rc.d that says no.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap 'if [ -n "$added_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi' EXIT
  echo "install-peers: apt-get update"
  $SUDO apt-get update -q
  echo "install-peers: apt-get install -y --no-install-recommends ${missing[*]}"
  $SUDO apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# A package's postinst may still have started daemons where no policy-rc.d stopped it: stop them.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl stop rabbitmq-server.service epmd.service epmd.socket >/dev/null 2>&1 || true
fi

echo "install-peers: versions:"
dpkg-query -W -f='  ${Package} ${Version}\n' "${PACKAGES[@]}"
echo "install-peers: done"
