#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# test_blk_patch.sh with io_engine "Async": the same PATCH /drives checks
# (refusals, file swap and resize seen by the guest, rate limiter) on a drive
# served by the io_uring engine, in API mode under the default seccomp filters.
# timeout: 900
BLK_PATCH_IO_ENGINE=Async exec "$(dirname "$0")/test_blk_patch.sh"
