#!/usr/bin/env bash
# Builds bench/proton-c/sender and receiver (Qpid Proton C proactor programs) with gcc -O2 into
# bench/proton-c/build/ (gitignored). Needs Debian's libqpid-proton11-dev (scripts/install-peers.sh).
# Prints the build directory on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
mkdir -p "$out"
# Upstream names the split libraries; Debian ships one libqpid-proton.pc (core + proactor).
if ! flags="$(pkg-config --cflags --libs libqpid-proton-proactor libqpid-proton-core 2>/dev/null)"; then
  if ! flags="$(pkg-config --cflags --libs libqpid-proton 2>/dev/null)"; then
    echo "pkg-config finds no Qpid Proton C library: run scripts/install-peers.sh" >&2
    exit 1
  fi
fi
for prog in sender receiver; do
  # Build to a temporary name and rename: parallel builds never see a half-written binary.
  tmp="$out/.$prog.$$"
  # shellcheck disable=SC2086 # $flags is a list of words
  gcc -O2 -Wall -Wextra -o "$tmp" "$here/$prog.c" $flags
  mv -f "$tmp" "$out/$prog"
done
echo "$out"
