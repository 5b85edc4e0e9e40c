#!/usr/bin/env bash
# Network benchmarks on the GPU with a device call to themselves: builds (incrementally; a fresh machine
# builds from scratch) and runs `sdn_bench --synthetic sd15|sd21-v --backend cuda --repeats 3`, output in
# $OUT/bench_networks.jsonl, build.log and summary.txt. check.sh runs the same step last, with whatever
# time is left; use this script when that was not enough. Usage: bash scripts/gpu/bench.sh
exec bash "$(dirname "$0")/check.sh" build networks
