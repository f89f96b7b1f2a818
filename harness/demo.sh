#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make run: build (done by make), boot, and take the tour in demo/guest.sh.
. "$(dirname "$0")/lib.sh"
step "booting the $variant kernel and probing real programs"
"$REPO/harness/vm.sh" "bash $REPO/harness/demo/guest.sh"
