#!/usr/bin/env bash
# Hostile-input probe of issue 20: a few hundred bad or edge inputs over
# every command, each run under a 4 GB address-space limit and a timeout,
# in an empty scratch folder, with a user's file planted in every output
# folder. Repeatable (no randomness). Usage:
#
#   bash scripts/probe-hostile.sh [FPEC_BINARY]     # default target/debug/fpec
#   PROBE_SKIP_ROOT=1 bash scripts/probe-hostile.sh /tmp/fpec-old   # an older build
#
# Prints one line per probe (command, expected, exit code, stderr lines,
# verdict, first stderr line) to $W/probe.tsv and a summary per command;
# exits 1 when any probe violates a target:
#   injection  a marker file that a shell/Yosys command would create exists
#   abort      exit >= 128 (signal, abort, OOM), "panicked", or a timeout
#   lost       a planted user file changed or vanished, or fpec wrote into
#              the current folder or into /
#   false-pass exit 0 where the input is bad
#   unclear    exit 2 with more than one line on stderr
#   wrong-code exit other than the expected one (2 for input errors)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FPEC=$(realpath "${1:-$ROOT/target/debug/fpec}")
W=$(mktemp -d /tmp/fpec-probe.XXXXXX)
export FPEC_CACHE="${FPEC_CACHE:-$ROOT/out/cache}"
CWD="$W/cwd"; mkdir -p "$CWD"
MARK="$W/pwned"
TSV="$W/probe.tsv"; : > "$TSV"
# Copies: synth and energy write beside the design.
cp -r "$ROOT/generated/6+2" "$W/g6"; cp -r "$ROOT/generated/4+2" "$W/g4"
G6="$W/g6"; G4="$W/g4"
MODEL="$ROOT/models/digits-mlp.json"
ROOTFILES="/regress.md /regress.json /summary.md /summary.json /energy.svg /dnn-report.md /dnn-report.json /dnn-report.svg /manifest.json /.fpec-written"
fails=0

# probe EXPECT CMD ARGS...: EXPECT is 2 (input error), 1 (failed check),
# 0 (must pass) or nz (any non-zero but 1/2 rules still apply).
probe() {
    local expect=$1; shift
    # PROBE_SKIP_ROOT=1 skips the inputs naming / (for probing an older
    # fpec, which would write there).
    if [ -n "${PROBE_SKIP_ROOT:-}" ]; then
        local a; for a in "$@"; do [ "$a" = / ] && return 0; done
    fi
    local err="$W/err.txt" out="$W/out.txt"
    ( cd "$CWD" && ulimit -v 4000000 && exec timeout 120 "$FPEC" "$@" ) >"$out" 2>"$err"
    local rc=$? lines verdict=ok first
    lines=$(grep -c . "$err")
    first=$(head -n1 "$err" | cut -c1-600 | tr '\t' ' ')
    if [ -e "$MARK" ]; then verdict=injection; rm -f "$MARK"
    elif [ $rc -ge 124 ] || grep -q "panicked" "$err" "$out"; then verdict=abort
    elif [ -n "$(ls -A "$CWD" | grep -vx out)" ]; then verdict=lost; rm -rf "${CWD:?}"/* "$CWD"/.[!.]* 2>/dev/null
    elif [ "$expect" != 0 ] && [ $rc -eq 0 ]; then verdict=false-pass
    elif [ $rc -eq 2 ] && [ "$lines" -ne 1 ]; then verdict=unclear
    elif [ "$expect" != nz ] && [ $rc -ne "$expect" ]; then verdict=wrong-code
    fi
    for f in $ROOTFILES; do [ -e "$f" ] && { verdict=lost; rm -f "$f"; }; done
    local uf
    for uf in "$W"/out-*/user-notes.txt; do
        [ -e "$uf" ] && [ "$(cat "$uf")" != mine ] && verdict=lost
    done
    rm -rf "$CWD/out"
    [ "$verdict" = ok ] || fails=$((fails + 1))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$expect" "$rc" "$lines" "$verdict" "$first" "$(echo "$*" | cut -c1-200)" >> "$TSV"
}

# A folder with a planted user file (checked after every probe).
userdir() { mkdir -p "$W/out-$1"; echo mine > "$W/out-$1/user-notes.txt"; echo "$W/out-$1"; }

# A copy of generated/6+2 whose manifest gets `jq`-free edits by python.
design() {
    local d="$W/d-$1"; rm -rf "$d"; cp -r "$G6" "$d"
    python3 - "$d/manifest.json" "$2" <<'EOF'
import json, sys
p, expr = sys.argv[1], sys.argv[2]
m = json.load(open(p))
exec(expr)
json.dump(m, open(p, "w"))
EOF
    echo "$d"
}

EVIL_NAMES=(
    "fpec_mac; exec -- touch $MARK;" "fpec_mac\nexec touch $MARK" "../../x" "a/b" "" " " "1abc"
    "fpec_mac;shell touch $MARK" "\$(touch $MARK)" "\`touch $MARK\`" "fpec_mac # x" "x\"y" "x'y"
    "\\\\escaped " "$(printf 'a%.0s' {1..300})" "fpec mac" "-top" "+define+X" "ä" "x\$y"
)
VFLAGS=(--backend verilator --vectors 2)

# ------------------------------------------------------------- verify
i=0
for n in "${EVIL_NAMES[@]}"; do
    i=$((i + 1))
    d=$(design top$i "m['top'] = $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$n")")
    probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
    probe 2 synth "$d"
    probe 2 verify --rtl "$G6"/*.v --top "$n" --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
    d=$(design par$i "m['params'] = {$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$n"): 1}")
    probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
done
ln -sf /etc/passwd "$W/passwd-link.v"
for f in /etc/passwd ../6+2/fpec_mac.v "$G6/fpec_mac.v" /dev/zero . "" "missing.v" "x/../../fpec_mac.v" \
         "$W/passwd-link.v" "sub dir/a.v" "a\nb.v" "/proc/self/environ" "$(printf 'b%.0s' {1..5000}).v"; do
    js=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$f")
    d=$(design file "m['files'] = [$js]")
    probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
    probe 2 synth "$d"
    d=$(design file2 "m['files'] = m['files'][:-1] + [$js]")
    probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
done
ln -sf /etc/passwd "$W/d-link-target"
d=$(design link "pass"); rm "$d/fpec_mac.v"; ln -s "$G4/fpec_mac.v" "$d/fpec_mac.v"
probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
for kv in "m['W'] = -1" "m['W'] = 0" "m['W'] = 99" "m['W'] = 'x'" "m['W'] = 1e30" "m['max_len'] = 0" \
          "m['max_len'] = 2**40" "m['sum_width'] = 0" "m['sum_width'] = 65" "m['sum_width'] = 10" \
          "m['latency'] = 0" "m['latency'] = 100" "m['format'] = 'x'" "m['bits'] = '7+2'" "m['N'] = 3" \
          "m['G'] = 9" "m['C'] = 4" "m['Z'] = 2" "m['M'] = 7" "m['files'] = []" "m['files'] = 'a.v'" \
          "m['requant'] = {'top': 'x; y', 'W': 4, 'N': 6, 'fb_shift': 1, 'in_width': 26, 'out_width': 6, 'files': ['/etc/passwd']}" \
          "m['params'] = {'X': 'nan'}" "m['top'] = 5" "del m['top']" "m = []"; do
    d=$(design kv "$kv")
    probe 2 verify "$d" "${VFLAGS[@]}" --out "$W/vo"
done
printf '{"format": "fpec", "top": ' > "$W/trunc.json"; mkdir -p "$W/tr"; cp "$W/trunc.json" "$W/tr/manifest.json"
probe 2 verify "$W/tr" "${VFLAGS[@]}"
head -c 5000000 /dev/urandom > "$W/tr/manifest.json"; probe 2 verify "$W/tr" "${VFLAGS[@]}"
for v in -1 0 10000001 abc 1e100 ""; do probe 2 verify "$G6" --vectors "$v" --backend verilator --out "$W/vo"; done
for v in -1 18446744073709551616 abc; do probe 2 verify "$G6" --seed "$v" --backend verilator --vectors 2 --out "$W/vo"; done
for b in bogus "verilator;ls" "" ALL; do probe 2 verify "$G6" --backend "$b" --vectors 2 --out "$W/vo"; done
echo x > "$W/afile"
for o in "$W/afile" "$W/afile/sub"; do probe 2 verify "$G6" "${VFLAGS[@]}" --out "$o"; done
for c in / . "$W/afile"; do probe 2 verify "$G6" "${VFLAGS[@]}" --out "$W/vo" --cache "$c"; done
printf 'module fpec_mac(input clk; endmodule\n' > "$W/syntax.v"
probe 2 verify --rtl "$W/syntax.v" --top fpec_mac --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
probe 2 verify --rtl "$G6"/*.v --top nosuch --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
probe 2 verify --rtl "$G6"/*.v --top fpec_mac --param NOPE=1 --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
for p in "X" "=1" "X=" "X=1=2" "X=1e3" "X=99999999999999999999" "a;b=1" "X='hzz" "X=64'd1"; do
    probe 2 verify --rtl "$G6"/*.v --top fpec_mac --param "$p" --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
done
probe 2 verify --rtl /dev/zero --top fpec_mac --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
probe 2 verify --rtl "$W" --top fpec_mac --bits 6+2 --latency 1 --sum-width 26 "${VFLAGS[@]}" --out "$W/vo"
probe 2 verify --rtl "$G6"/*.v --top fpec_mac --bits 6+2 --latency 1 --sum-width 25 "${VFLAGS[@]}" --out "$W/vo"
probe 0 verify "$G4" --backend all --vectors 3 --out "$W/vo"

# ------------------------------------------------------------- synth / energy
for l in /dev/zero "$W" missing.lib "$W/afile"; do probe 2 synth "$G4" --liberty "$l"; done
: > "$W/empty.lib"; probe 2 synth "$G4" --liberty "$W/empty.lib"
printf 'library (x) { nom_voltage : nan; cell (INV) { pin (A) { direction : input; capacitance : 1; } pin (Y) { direction : output; } } }\n' > "$W/nan.lib"
printf 'library (x) { nom_voltage : 1; cell (INV) { pin (A) { direction : input; capacitance : -inf; } pin (Y) { direction : output; } } }\n' > "$W/inf.lib"
printf 'library (x) { cell (INV) { pin (A) { direction : input; \n' > "$W/trunc.lib"
for l in nan inf trunc empty; do
    probe 2 synth "$G4" --liberty "$W/$l.lib"
    probe 2 energy "$G4" --liberty "$W/$l.lib" --no-baselines
done
for r in nan -1 2 inf -inf 1e309 abc; do probe 2 energy "$G4" --toggle-rate "$r" --no-baselines; done
for l in 0 -1 70000 5000 abc; do probe 2 energy "$G4" --activity sim --len "$l" --no-baselines; done
for m in 0 -1 1000001 abc; do probe 2 energy "$G4" --activity sim --macs "$m" --no-baselines; done
probe 2 energy "$G4" --workload uniform --no-baselines
probe 2 energy "$G4" --max-len 16 --no-baselines
probe 2 energy "$G4" --arch split --no-baselines
probe 2 energy "$G4" --activity bogus
probe 2 energy "$G4" --activity sim --toggle-rate 0.5
probe 2 energy "$G4" --liberty "$W/nan.lib" --activity sim
cp -r "$G4" "$W/e42"; probe 2 energy "$W/e42" --bits 6+2 --no-baselines
for t in "default_toggle_rate = nan" "default_toggle_rate = -1" "default_toggle_rate = inf" "fj_per_toggle = nan" "fj_per_toggle = -1" "fj_per_toggle = inf" "units = \"pJ\"" "garbage ="; do
    python3 -c "import sys, re; t=open('$ROOT/data/energy-14nm.toml').read(); k=sys.argv[1].split(' =')[0]; open('$W/t.toml','w').write(re.sub('(?m)^' + k + ' =.*$', sys.argv[1], t, count=1) if re.search('(?m)^' + k + ' =', t) else t.replace('[meta]', '[meta]\n' + sys.argv[1], 1))" "$t"
    probe 2 energy "$G4" --energy-table "$W/t.toml" --no-baselines
done
probe 2 energy "$G4" --energy-table /dev/zero --no-baselines
probe 2 energy "$G4" --energy-table "$W" --no-baselines
probe 2 synth "$W/nonexistent"
probe 2 synth "$CWD"
probe 2 synth --rtl "$W/syntax.v" --top fpec_mac "$W/sy"
probe 2 synth --rtl "$G6"/*.v --top nosuch "$W/sy"
probe 2 synth --rtl "$G6"/*.v --top "fpec_mac; shell touch $MARK" "$W/sy"

# ------------------------------------------------------------- gen / encode
for b in 1+2 17+0 6+5 6+ +2 6+2+1 "6+2;" -6+2 abc 99999999999+0 ""; do probe 2 gen --bits "$b" --out "$W/g"; done
for m in 0 -1 65537 abc 1e3; do probe 2 gen --bits 6+2 --max-len "$m" --out "$W/g"; done
for e in -1 3 abc; do probe 2 gen --bits 6+2 --emb "$e" --out "$W/g"; done
probe 2 gen --bits 6+3 --emb 0 --out "$W/g"
for o in / . ./ "$W/afile" "$(userdir gen)" "$CWD"; do probe 2 gen --bits 4+2 --out "$o"; done
probe 0 gen --bits 4+2 --out "$W/g2"; mkdir -p "$W/g2/synth"; echo mine > "$W/g2/synth/user-notes.txt"
probe 2 gen --bits 4+2 --out "$W/g2"
[ "$(cat "$W/g2/synth/user-notes.txt")" = mine ] || { echo "gen lost a user file"; fails=$((fails + 1)); }
for v in nan inf -inf 1e309 abc ""; do probe 2 encode --bits 6+2 --fb 4 "$v"; done
probe 0 encode --bits 6+2 --fb 4 1e-400
for f in -17 33 abc; do probe 2 encode --bits 6+2 --fb "$f" 0.5; done
probe 0 encode --bits 6+2 --fb 4 0.3 -1.27 1e30 -1e30 0

# ------------------------------------------------------------- regress
R="$W/r"
for p in 0 -1 1e14 abc 1e13.5 1e-3 "" 0x10; do probe 2 regress --config 2+0-fxp --pairs "$p" --out "$R"; done
for c in 0 -1 1e11 abc; do probe 2 regress --config 2+0-fxp --chunk-pairs "$c" --out "$R"; done
for s in 1/0 5/5 -1/3 a/b 1/1000001 1 1/2/3 "" 0/-1; do probe 2 regress --config 2+0-fxp --pairs 100 --shard "$s" --out "$R"; done
for c in bogus 6+2 6+2-fxp 8+0-fused 6+3-m1z1-split "6+2-fused;ls" 99+0-fxp; do probe 2 regress --config "$c" --pairs 100 --out "$R"; done
probe 2 regress --bits 8+0 --arch split --pairs 100 --out "$R"
probe 2 regress --bits 6+2 --arch bogus --pairs 100 --out "$R"
probe 2 regress --config 2+0-fxp --bits 6+2 --pairs 100 --out "$R"
probe 2 regress --config 2+0-fxp --pairs 100 --chunk 5 --out "$R"
probe 2 regress --config 2+0-fxp --pairs 100 --chunk 0 --shard 0/2 --out "$R"
for s in -1 100001 abc; do probe 2 regress --config 2+0-fxp --pairs 100 --sample-products "$s" --out "$R"; done
for o in / . "$W/afile" "$W/afile/x"; do probe 2 regress --config 2+0-fxp --pairs 100 --out "$o"; done
for c in / . "$W/afile"; do probe 2 regress --config 2+0-fxp --pairs 100 --out "$R" --cache "$c"; done
u=$(userdir regress); echo "# mine" > "$u/regress.md"
probe 2 regress --config 2+0-fxp --pairs 100 --sample-products 0 --max-len 16 --out "$u"
[ "$(cat "$u/regress.md")" = "# mine" ] || { echo "regress overwrote regress.md"; fails=$((fails + 1)); }
probe 0 regress --bits 2+0 --pairs 1e13 --chunk-pairs 100000 --sample-products 0 --max-len 16 --shard 999999/1000000 --out "$W/big"
probe 0 regress --config 2+0-fxp --pairs 2000 --chunk-pairs 500 --sample-products 1 --max-len 16 --shard 0/2 --out "$W/sh"
probe 0 regress --config 2+0-fxp --pairs 2000 --chunk-pairs 500 --sample-products 1 --max-len 16 --shard 1/2 --out "$W/sh"
S0="$W/sh/shard-0-of-2.json"
edit_shard() {  # edit_shard NAME PYTHON-EXPR: a copy of the shards with shard 0 edited
    rm -rf "$W/se"; cp -r "$W/sh" "$W/se"
    python3 - "$W/se/shard-0-of-2.json" "$1" <<'EOF'
import json, sys
p, expr = sys.argv[1], sys.argv[2]
t = open(p).read()
exec(expr)
open(p, "w").write(t)
EOF
}
for e in "t = t[:len(t)//2]" "t = t.replace('\"mismatches\": 0', '\"mismatches\": 3', 1)" \
         "import re; t = re.sub(r'\"pairs\": \\d+', '\"pairs\": 1000000000000', t, count=1)" "t = t.replace('\"secs\": ', '\"secs\": -', 1)" \
         "t = t.replace('\"shards\": 2', '\"shards\": 3', 1)" "t = t.replace('\"shard\": 0', '\"shard\": 1', 1)" \
         "t = t.replace('\"checksum\": \"', '\"checksum\": \"0', 1)" "t = t + ' '" "t = ''" "t = 'null'" \
         "t = t.replace('\"format\": 2', '\"format\": 1', 1)" "t = t.replace('verilator', 'icarus', 1)"; do
    edit_shard "$e"
    probe 2 regress merge "$W/se" --out "$W/sm"
done
for o in / . ./ "$W/afile"; do probe 2 regress merge "$W/sh" --out "$o"; done
probe 2 regress merge "$W/sh/shard-0-of-2.json"
probe 2 regress merge "$W/nonexistent"
probe 2 regress merge "$W/cwd"
probe 2 regress merge /dev/zero
u=$(userdir merge); echo "# mine" > "$u/regress.md"; probe 2 regress merge "$W/sh" --out "$u"
probe 0 regress merge "$W/sh" --out "$W/sm-ok"

# ------------------------------------------------------------- flow
for b in 1+2 17+0 "3..2+2" "a..b+2" "3..99+2" "6+2;ls"; do probe 2 flow --bits "$b" --out "$W/f"; done
probe 2 flow --bits 8+0 --arch split --out "$W/f"
probe 2 flow --bits 6+2 --arch bogus --out "$W/f"
for v in 0 -1 10000001 abc; do probe 2 flow --bits 2+0 --vectors "$v" --out "$W/f"; done
for s in 1/0 2/2 a/b; do probe 2 flow --bits 2+0 --shard "$s" --out "$W/f"; done
probe 2 flow --bits 2+0 --workload bogus --out "$W/f"
for o in / . "$W/afile" "$W/afile/x"; do probe 2 flow --bits 2+0 --out "$o"; done
u=$(userdir flow); echo "# mine" > "$u/summary.md"; probe 2 flow --bits 2+0 --vectors 1 --out "$u"
probe 0 flow --bits 2+0 --vectors 1 --shard 0/1 --out "$W/fs"
F0="$W/fs/flow-shard-0-of-1.json"
for e in "t = t[:len(t)//2]" "t = t.replace('\"cells\": ', '\"cells\": 9', 1)" "t = ''" \
         "t = t.replace('\"checksum\": \"', '\"checksum\": \"x', 1)"; do
    rm -rf "$W/fe"; cp -r "$W/fs" "$W/fe"
    python3 -c "import sys; p=sys.argv[1]; t=open(p).read(); exec(sys.argv[2]); open(p,'w').write(t)" "$W/fe/flow-shard-0-of-1.json" "$e"
    probe 2 flow merge "$W/fe"
done
for o in / . "$W/afile"; do probe 2 flow merge "$W/fs" --out "$o"; done
probe 2 flow merge "$W/nonexistent"
probe 0 flow merge "$W/fs"

# ------------------------------------------------------------- dnn
for m in /dev/zero "$W" missing.json "$W/afile" "$W/trunc.json" "$W/syntax.v"; do
    probe 2 dnn eval --model "$m" --bits 4+2
    probe 2 dnn opt --model "$m" --test-double-energy --out "$W/o"
done
for d in /dev/zero "$W" missing.csv "$W/afile" "$W/syntax.v"; do probe 2 dnn eval --model "$MODEL" --data "$d" --bits 4+2; done
for b in 101 -1 nan inf -inf abc 1e309; do probe 2 dnn opt --model "$MODEL" --budget "$b" --test-double-energy --out "$W/o"; done
for o in / . ./ "$W/afile"; do probe 2 dnn opt --model "$MODEL" --test-double-energy --out "$o"; done
u=$(userdir opt); echo "# mine" > "$u/dnn-report.md"; probe 2 dnn opt --model "$MODEL" --test-double-energy --out "$u"
probe 2 dnn opt --model "$MODEL" --arch bogus --out "$W/o"
for l in 99 -1 abc; do probe 2 dnn verify-layer --model "$MODEL" --layer "$l" --bits 4+2; done
probe 2 dnn verify-layer --model "$MODEL" --layer 0 --bits 4+2 --dump "$W/missing/x.json"
probe 2 dnn verify-layer --model "$MODEL" --layer 0 --bits 4+2 --dump "$W"
probe 2 dnn verify-layer --model "$MODEL" --layer 0 --bits 4+2 --arch bogus
for i in 0 -1 abc; do probe 2 dnn verify-layer --model "$MODEL" --layer 0 --bits 4+2 --images "$i"; done
probe 2 dnn train --net mlp --out "$W"
probe 2 dnn train --net mlp --out "$W/missing/m.json"
probe 2 dnn train --net bogus --out "$W/m.json"
for e in 0 -1 abc; do probe 2 dnn train --net mlp --epochs "$e" --out "$W/m.json"; done
probe 2 dnn import /dev/zero --out "$W/m.json"
probe 2 dnn import "$W/syntax.v" --out "$W/m.json"
probe 2 dnn import "$MODEL" --out "$W"
probe 2 dnn export "$MODEL" --out "$W"
probe 2 dnn export /dev/zero --out "$W/m.onnx"
for t in -1 33 abc; do probe 2 dnn eval --model "$MODEL" --bits 4+2 --tw "$t"; done
probe 2 dnn eval --model "$MODEL" --bits 4+2 --dataset bogus
probe 2 dnn eval --model "$MODEL" --bits 4+2 --data "$W/afile" --dataset mnist-10k

# ------------------------------------------------------------- report
for f in /dev/zero "$W" missing.json "$W/afile" "$W/trunc.json"; do probe 2 report plot "$f"; done

# ------------------------------------------------------------- summary
echo "probe folder: $W"
echo "| command | inputs | exit 0 | exit 1 | exit 2 | other | violations | exit 2 not naming the allowed values |"
echo "|---|---|---|---|---|---|---|---|"
awk -F'\t' '{n[$1]++; if ($3==0) a[$1]++; else if ($3==1) b[$1]++; else if ($3==2) c[$1]++; else d[$1]++;
             if ($3==2 && $6 !~ /allowed|possible values|expected|give |needs|goes with|conflicts/) na[$1]++;
             if ($5!="ok") v[$1]++; t++}
     END {for (k in n) printf "| %s | %d | %d | %d | %d | %d | %d | %d |\n", k, n[k], a[k]+0, b[k]+0, c[k]+0, d[k]+0, v[k]+0, na[k]+0;
          printf "| all | %d | | | | | |\n", t}' "$TSV" | sort
echo
echo "verdicts:"; cut -f5 "$TSV" | sort | uniq -c
if [ "$fails" -gt 0 ]; then
    echo "violations:"; awk -F'\t' '$5!="ok"' "$TSV"
    exit 1
fi
