#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# API tests: a real ember driven with curl --unix-socket and a raw socket
# client; every response checked against api-spec/. Ends with
# "api: N passed, N failed, N skipped".
#   tests/api/run.sh [TEST_NAME...]      EMBER=path/to/ember to test another binary
# EMBER_ARGS="--no-seccomp" adds flags to every ember started.
# Post-boot tests run when /dev/kvm works and EMBER_KERNEL (EMBER_ROOTFS) are set.
set -u
cd "$(dirname "$0")/../.."
EMBER=${EMBER:-build/ember}
if [ ! -x "$EMBER" ]; then
	make -s -j2 "$EMBER" >/dev/null 2>&1 || true
fi
if [ ! -x "$EMBER" ]; then
	echo "api: $EMBER missing and cannot be built"
	echo "api: 0 passed, 1 failed"
	exit 1
fi
for tool in curl python3; do
	command -v $tool >/dev/null || { echo "api: $tool missing (make deps)"; echo "api: 0 passed, 1 failed"; exit 1; }
done
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
	echo "api: python3-yaml / python3-jsonschema missing (make deps)"
	echo "api: 0 passed, 1 failed"
	exit 1
fi
exec python3 tests/api/test_api.py "$EMBER" "$@"
