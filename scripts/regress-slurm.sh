#!/usr/bin/env bash
#SBATCH --job-name=fpec-regress
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --output=slurm-fpec-regress-%A_%a.out
# Slurm array script of `fpec regress`: one shard per array task, then a
# merge job that depends on the whole array.
#
# Submit (from the repository, OUT on a filesystem every node sees):
#   bash scripts/regress-slurm.sh submit SHARDS OUT [fpec regress args]
#   bash scripts/regress-slurm.sh submit 400 /shared/regress --pairs 1e8
# which runs
#   sbatch --array=0-(SHARDS-1) --export=ALL,FPEC_SHARDS=SHARDS,FPEC_OUT=OUT scripts/regress-slurm.sh ARGS
#   sbatch --dependency=afterany:<array job> --wrap "fpec regress merge OUT"
# A task that was killed is rerun with: sbatch --array=K ... (same command);
# the merge reports missing shards by number. Environment: FPEC (absolute
# path of the fpec binary; default target/release/fpec of this repository).
set -euo pipefail

here="${SLURM_SUBMIT_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
FPEC="${FPEC:-$here/target/release/fpec}"

if [ "${1:-}" = "submit" ]; then
    shards="${2:?give SHARDS}"
    out="${3:?give OUT}"
    shift 3
    mkdir -p "$out"
    out="$(cd "$out" && pwd)"
    array=$(sbatch --parsable --array=0-$((shards - 1)) --chdir="$here" \
        --output="$out/slurm-%A_%a.out" \
        --export=ALL,FPEC="$FPEC",FPEC_SHARDS="$shards",FPEC_OUT="$out" \
        "$here/scripts/regress-slurm.sh" "$@")
    array="${array%%;*}"
    merge=$(sbatch --parsable --job-name=fpec-regress-merge --dependency=afterany:"$array" \
        --chdir="$here" --output="$out/slurm-merge-%j.out" \
        --wrap "\"$FPEC\" regress merge \"$out\"")
    echo "submitted array job $array ($shards shards) and merge job $merge; results in $out"
    exit 0
fi

: "${SLURM_ARRAY_TASK_ID:?run through sbatch (bash scripts/regress-slurm.sh submit SHARDS OUT ...)}"
shards="${FPEC_SHARDS:-${SLURM_ARRAY_TASK_COUNT:?}}"
out="${FPEC_OUT:-out/regress}"
exec "$FPEC" regress "$@" --shard "$SLURM_ARRAY_TASK_ID/$shards" --out "$out"
