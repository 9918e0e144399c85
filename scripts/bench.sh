#!/usr/bin/env bash
# Performance table for the README (issue 5). For each size and aperture:
#   render ms   — the renderer alone (library, synthetic portrait scene, no models, no I/O),
#                 median of REPEATS runs, via examples/render_timing.rs
#   render RSS  — peak resident memory of that process (scene + render), MiB
#   photo render ms — the renderer alone on the real portrait (examples/astronaut.png at that
#                 size with the depth and matte the models made of it: their raw outputs are
#                 stored in benches/data/ and refined as fstop does, so no model runs; see
#                 examples/render_timing.rs --real), median of REPEATS runs
#   e2e ms      — wall time of `fstop photo.jpg --f-number N` on a JPEG of that size made from
#                 examples/astronaut.png (decode, both models, focus, render, encode, process
#                 start and model loading included), median of E2E_RUNS runs
#   e2e RSS     — peak resident memory of fstop, MiB
#   stages      — fstop --timings of the median run (ms)
# Usage: bash scripts/bench.sh [--quick]   (--quick: 1 repeat, no 33 MP)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${REPEATS:-5}
e2e_runs=${E2E_RUNS:-3}
sizes=("1MP 1155 866" "4MP 2309 1732" "12MP 4000 3000" "33MP 7680 4320")
if [[ "${1:-}" == "--quick" ]]; then
    repeats=1
    e2e_runs=1
    sizes=("1MP 1155 866" "12MP 4000 3000")
fi
bash scripts/setup.sh >/dev/null
cargo build --release --quiet --bin fstop --example render_timing --example bench_photo
bin=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak_mib() { awk '/Maximum resident set size/ {printf "%d", $6/1024}' "$1"; }
wall_ms() {
    awk '/Elapsed \(wall clock\)/ {n=split($8,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.0f", s*1000}' "$1"
}
json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u +%F)"
echo
echo "| size | aperture | render ms (median of $repeats) | render peak RSS MiB | photo render ms | e2e ms (median of $e2e_runs) | e2e peak RSS MiB | e2e stages (ms) |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "${sizes[@]}"; do
    read -r name w h <<<"$spec"
    apertures=(1.8)
    [[ "$name" == "12MP" ]] && apertures=(1.2 1.8 2.8)
    photo="$tmp/$name.jpg"
    "$bin/examples/bench_photo" examples/astronaut.png "$w" "$h" "$photo"
    for f in "${apertures[@]}"; do
        /usr/bin/time -v -o "$tmp/render.time" "$bin/examples/render_timing" "$w" "$h" "$f" "$repeats" >"$tmp/render.json"
        render_ms=$(json_field median_ms <"$tmp/render.json")
        render_rss=$(peak_mib "$tmp/render.time")
        photo_ms=$("$bin/examples/render_timing" --real "$w" "$h" "$f" "$repeats" | json_field median_ms)
        e2e_list=()
        rss_max=0
        for ((run = 0; run < e2e_runs; run++)); do
            /usr/bin/time -v -o "$tmp/e2e.time" "$bin/fstop" "$photo" -o "$tmp/out.jpg" --f-number "$f" --timings >"$tmp/e2e.$run.json"
            ms=$(wall_ms "$tmp/e2e.time")
            e2e_list+=("$ms $run")
            rss=$(peak_mib "$tmp/e2e.time")
            ((rss > rss_max)) && rss_max=$rss
        done
        median_line=$(printf '%s\n' "${e2e_list[@]}" | sort -n | sed -n "$(((e2e_runs + 1) / 2))p")
        read -r e2e_ms median_run <<<"$median_line"
        stages=$(python3 -c "import json; t=json.load(open('$tmp/e2e.$median_run.json')); print(', '.join(f'{k} {v:.0f}' for k,v in t.items()))")
        echo "| $name (${w}×${h}) | f/$f | $render_ms | $render_rss | $photo_ms | $e2e_ms | $rss_max | $stages |"
    done
done

# The real portrait against the synthetic one (issue 18): the render stage at 12 MP f/1.8,
# wall and CPU time (all threads) of the render alone, the two interleaved so the machine's
# drift hits both alike. Targets: real ≤ 450 ms, at most 1.5× synthetic.
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
real=() real_cpu=() synth=() synth_cpu=()
for ((run = 0; run < repeats; run++)); do
    "$bin/examples/render_timing" --real 4000 3000 1.8 1 >"$tmp/real.json"
    "$bin/examples/render_timing" 4000 3000 1.8 1 >"$tmp/synth.json"
    real+=("$(json_field median_ms <"$tmp/real.json")")
    real_cpu+=("$(json_field median_cpu_ms <"$tmp/real.json")")
    synth+=("$(json_field median_ms <"$tmp/synth.json")")
    synth_cpu+=("$(json_field median_cpu_ms <"$tmp/synth.json")")
done
r=$(median "${real[@]}") rc=$(median "${real_cpu[@]}")
s=$(median "${synth[@]}") sc=$(median "${synth_cpu[@]}")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "real portrait, 12 MP f/1.8: render $r ms (CPU $rc ms); synthetic $s ms (CPU $sc ms);" \
    "ratio $(ratio "$r" "$s")× wall, $(ratio "$rc" "$sc")× CPU (target: real ≤ 450 ms, ≤ 1.5×)"

# Lens character (issue 16): the 12 MP synthetic render with every trait on (anamorphic 1.5×,
# chromatic aberration 120 µm, spherical aberration 0.5, cat-eye 0.4, swirl 0.7) against the
# plain lens, interleaved so the machine's drift hits both alike. Budget: at most 1.3×.
plain=()
traits=()
for ((run = 0; run < repeats; run++)); do
    plain+=("$("$bin/examples/render_timing" 4000 3000 1.8 1 | json_field median_ms)")
    traits+=("$("$bin/examples/render_timing" 4000 3000 1.8 1 --character all | json_field median_ms)")
done
p=$(median "${plain[@]}")
t=$(median "${traits[@]}")
echo
echo "lens character, 12 MP f/1.8: plain $p ms, every trait on $t ms, ratio $(python3 -c "print(f'{$t/$p:.2f}')")× (budget 1.3×)"
