#!/usr/bin/env bash
# Copyright 2026 brain_execution contributors
# SPDX-License-Identifier: Apache-2.0
#
# Run a command inside the project's ROS 2 environment, setting it up first if needed.
# Usage: scripts/run.sh COMMAND [ARGS...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
# colcon's generated setup scripts read unset variables, so nounset is off while sourcing.
set +u
# shellcheck disable=SC1090
source "$repo/.work/${ROS_DISTRO:-jazzy}/env.sh"
set -u
# Tests and the demo talk to processes on this machine only.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
exec "$@"
