#!/usr/bin/env bash
# Fuzz for a while from the checked-in corpus without writing into it:
# run_fuzzer.sh FUZZER CORPUS_DIR SECONDS. Fails on any crash, leak or sanitizer report.
set -euo pipefail
fuzzer=$(realpath "$1") corpus=$(realpath "$2") seconds=$3
work=$(mktemp -d /tmp/meshdp-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work/corpus"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 corpus
