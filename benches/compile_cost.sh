#!/usr/bin/env bash
# Compile cost of `#[vnet]`: generates three crates that differ only in how
# they declare N statics of `AtomicU64` (N `#[vnet]` statics; N linkme
# `#[distributed_slice]` elements; N plain statics), builds their
# dependencies once, then times each crate's own rebuild after touching its
# `lib.rs`, interleaved (the order rotates every round), and prints the median
# of each and the ratios measured in this run.
#
#   bash benches/compile_cost.sh [N] [ROUNDS]       # defaults: 1000 statics, 7 rounds
#
# Environment: RUNTIME (path of the vnet-runtime crate to measure; default
# this repository's), WORK (where the crates are generated; default
# target/compile-cost), PROFILE (cargo profile, default dev), MACRO_STATS=1
# (also print `-Zmacro-stats` of the `#[vnet]` crate with nightly: lines each
# macro expands to).
set -euo pipefail

N=${1:-1000}
ROUNDS=${2:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNTIME=$(cd "${RUNTIME:-$ROOT/vnet-runtime}" && pwd)
WORK=${WORK:-$ROOT/target/compile-cost}
PROFILE=${PROFILE:-dev}
LINKME=$(sed -n 's/^linkme = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# --- generate -----------------------------------------------------------------
cat >"$WORK/Cargo.toml" <<EOF
[workspace]
resolver = "2"
members = ["vnet_statics", "linkme_elements", "plain_statics"]

[workspace.dependencies]
vnet-runtime = { path = "$RUNTIME" }
linkme = "$LINKME"
EOF
# The same dependency versions as the repository (no resolution, no download).
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"

gen() { # gen CRATE DEPENDENCY HEADER LINE-TEMPLATE ('@' becomes the index)
    local crate=$1 dep=$2 header=$3 line=$4
    mkdir -p "$WORK/$crate/src"
    cat >"$WORK/$crate/Cargo.toml" <<EOF
[package]
name = "$crate"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$dep
EOF
    {
        echo "#![allow(dead_code)]"
        echo "use std::sync::atomic::AtomicU64;"
        printf '%s\n' "$header"
        for ((i = 0; i < N; i++)); do
            printf '%s\n' "${line//@/$i}"
        done
    } >"$WORK/$crate/src/lib.rs.new"
    # Rewrite only when the text changes, so reruns reuse the builds.
    if ! cmp -s "$WORK/$crate/src/lib.rs.new" "$WORK/$crate/src/lib.rs"; then
        mv "$WORK/$crate/src/lib.rs.new" "$WORK/$crate/src/lib.rs"
    else
        rm "$WORK/$crate/src/lib.rs.new"
    fi
}

gen vnet_statics "vnet-runtime.workspace = true" \
    "use vnet_runtime::vnet;" \
    "#[vnet] pub static S@: AtomicU64 = AtomicU64::new(@);"
gen linkme_elements "linkme.workspace = true" \
    "use linkme::distributed_slice;
#[distributed_slice] pub static ALL: [AtomicU64];" \
    "#[distributed_slice(ALL)] pub static S@: AtomicU64 = AtomicU64::new(@);"
gen plain_statics "" \
    "" \
    "pub static S@: AtomicU64 = AtomicU64::new(@);"

crates=(vnet_statics linkme_elements plain_statics)
build() { cargo build --quiet --manifest-path "$WORK/Cargo.toml" --profile "$PROFILE" -p "$1"; }
# CPU time (user + system) of a build, which the other load on the machine
# inflates far less than the wall-clock time.
cpu_build() { /usr/bin/time -f "%U %S" -o "$WORK/time.out" cargo build --quiet --manifest-path "$WORK/Cargo.toml" --profile "$PROFILE" -p "$1" && awk '{print $1 + $2}' "$WORK/time.out"; }

# --- dependencies (and a first build of each crate) --------------------------
echo "building dependencies in $WORK ..." >&2
for c in "${crates[@]}"; do build "$c"; done

# --- timed rebuilds ------------------------------------------------------------
declare -A times cpus
for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < ${#crates[@]}; k++)); do
        c=${crates[$(((r + k) % ${#crates[@]}))]}
        touch "$WORK/$c/src/lib.rs"
        t0=$(date +%s.%N)
        cpu=$(cpu_build "$c")
        t1=$(date +%s.%N)
        times[$c]+="$(printf '%.3f' "$(echo "$t1 - $t0" | bc -l)") "
        cpus[$c]+="$cpu "
    done
    echo "round $((r + 1))/$ROUNDS done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

report() { # report TITLE ARRAY-NAME
    local -n all=$2
    declare -A med
    echo
    echo "$1"
    for c in "${crates[@]}"; do
        med[$c]=$(echo "${all[$c]}" | median)
        printf '  %-16s median %6.3f s   (all: %s)\n' "$c" "${med[$c]}" "${all[$c]}"
    done
    printf '  #[vnet] / linkme  %5.2f\n' "$(echo "${med[vnet_statics]} / ${med[linkme_elements]}" | bc -l)"
    printf '  #[vnet] / plain   %5.2f\n' "$(echo "${med[vnet_statics]} / ${med[plain_statics]}" | bc -l)"
    printf '  linkme  / plain   %5.2f\n' "$(echo "${med[linkme_elements]} / ${med[plain_statics]}" | bc -l)"
}
echo
echo "rebuild of one crate with $N statics, after touching its lib.rs ($PROFILE profile, $ROUNDS interleaved rounds)"
report "wall-clock time:" times
report "CPU time (user + system):" cpus

# --- expanded lines per static (nightly) ---------------------------------------
if [ "${MACRO_STATS:-0}" = 1 ]; then
    echo
    echo "-Zmacro-stats of vnet_statics (nightly; lines and bytes each macro expands to, for $N statics):"
    touch "$WORK/vnet_statics/src/lib.rs"
    cargo +nightly rustc --quiet --manifest-path "$WORK/Cargo.toml" -p vnet_statics \
        --target-dir "$WORK/target-nightly" -- -Zmacro-stats 2>&1 | grep -E 'macro-stats|^ *$' || true
fi
