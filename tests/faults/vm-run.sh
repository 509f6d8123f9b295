#!/usr/bin/env bash
# tests/faults/vm-run.sh — inside the VM: runs the campaign's driver with the
# arguments tests/faults/run passed through $ZFERRY_TEST_FAULTS_ARGS.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
build=${ZFERRY_BUILD:?}
# shellcheck disable=SC2086  # the arguments are words tests/faults/run made
exec python3 "$here/driver.py" --zferry "$build/src/cli/zferry" --logdir "$build/faults" \
	${ZFERRY_TEST_FAULTS_ARGS:-}
