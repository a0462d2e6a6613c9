#!/usr/bin/env bash
# Runs `fpec regress` as N shards with GNU parallel (local cores, or many
# hosts with --sshloginfile), then merges them into OUT/regress.md/json.
#
#   scripts/regress-parallel.sh -n SHARDS -o OUT [-j JOBS] [-S SSHLOGINFILE] -- [fpec regress args]
#
#   scripts/regress-parallel.sh -n 8 -o out/regress -- --pairs 1e8 --bits 6+2 --bits 8+0
#   scripts/regress-parallel.sh -n 400 -o /shared/regress -S hosts.txt -- --pairs 1e8
#
# Each shard writes OUT/shard-K-of-N.json atomically; the job log
# OUT/parallel-joblog lets a rerun of the same command run only the shards
# that failed or were killed (--resume-failed). With -S, every host needs the
# fpec binary at $FPEC (absolute path) and OUT on a shared filesystem, and
# the jobs run in the current folder (--workdir .). Environment: FPEC (the
# fpec binary; default target/release/fpec, else fpec in PATH), FPEC_CACHE
# (build cache, per host is fine). Exit status: that of the merge (0 all
# shards present and no mismatch, 1 mismatches, 2 a shard missing).
set -euo pipefail

shards="" out="" jobs="" sshlogin=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) shards="$2"; shift 2 ;;
        -o) out="$2"; shift 2 ;;
        -j) jobs="$2"; shift 2 ;;
        -S) sshlogin="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "regress-parallel: unknown option $1 (allowed: -n SHARDS -o OUT [-j JOBS] [-S SSHLOGINFILE] -- ARGS)" >&2; exit 2 ;;
    esac
done
if [ -z "$shards" ] || [ -z "$out" ]; then
    echo "regress-parallel: give -n SHARDS and -o OUT" >&2
    exit 2
fi
if ! command -v parallel >/dev/null 2>&1; then
    echo "regress-parallel: GNU parallel is missing (bash scripts/bootstrap.sh installs it)" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${FPEC:-}" ]; then
    if [ -x "$here/target/release/fpec" ]; then FPEC="$here/target/release/fpec"; else FPEC="$(command -v fpec)"; fi
fi
mkdir -p "$out"
popts=(--joblog "$out/parallel-joblog" --resume-failed --line-buffer --tagstring 'shard {}')
if [ -n "$sshlogin" ]; then
    popts+=(--sshloginfile "$sshlogin" --workdir .)
else
    popts+=(-j "${jobs:-$(nproc)}")
fi
set +e
seq 0 $((shards - 1)) | parallel -q "${popts[@]}" "$FPEC" regress "$@" --shard "{}/$shards" --out "$out"
st=$?
set -e
[ $st -eq 0 ] || echo "regress-parallel: $st shard(s) failed (mismatch or error); merging what is there" >&2
exec "$FPEC" regress merge "$out"
