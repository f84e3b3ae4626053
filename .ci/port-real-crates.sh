#!/usr/bin/env bash
# Ports real crates from crates.io end to end, as a user would: `cargo vnet-lint check --fix
# --unsafe-fixes`, a second `--fix` (must change nothing), tests switched to `#[vnet_test]`, the
# crate's whole `cargo test` in parallel several times, and builds with and without `std`.
#
# Crates are fetched by cargo at pinned versions into a scratch directory (never committed).
# Prints one table row per crate; exits non-zero when a crate fails a step.
#
#   bash .ci/port-real-crates.sh            # the three crates CI ports
#   RUNS=5 bash .ci/port-real-crates.sh     # more parallel runs of each suite
#   HOLDOUT=1 ONLY="metrics eyre" bash .ci/port-real-crates.sh   # crates of the hold-out (opt-in)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
# name version test-features environment-of-the-suite
crates=(
    # Its tests expect a color terminal (CI has none), and its insta snapshots are not published.
    "colored 2.2.0 - CLICOLOR_FORCE=1,INSTA_UPDATE=always"
    "log 0.4.35 std -"
    "tracing-core 0.1.32 std -"
)
# WIDE=1: the share measure on ten crates with globals (fix, second fix, builds; no suites for
# the seven added).
if [ "${WIDE:-0}" = 1 ]; then
    crates+=(
        "slog-scope 4.4.0 - - nosuite"
        "yansi 1.0.1 - - nosuite"
        "console 0.15.8 - - nosuite"
        "num_cpus 1.16.0 - - nosuite"
        "ustr 1.1.0 - - nosuite"
        "rayon-core 1.12.1 - - nosuite"
        "signal-hook-registry 1.4.2 - - nosuite"
    )
fi
# HOLDOUT=1: ten crates nobody had ported when the lint was written (labels, written before the
# run, in vnet-lint/tests/holdout/real-crates.md). Four suites run; `ONLY=…` picks some.
if [ "${HOLDOUT:-0}" = 1 ]; then
    crates+=(
        "metrics 0.21.1 - -"
        "eyre 0.6.12 - -"
        "supports-color 2.1.0 - -"
        "ctrlc 3.4.5 - -"
        "owo-colors 3.5.0 supports-colors - nosuite"
        "uuid 1.10.0 v1,v4,v7,std,rng - nosuite"
        "memchr 2.7.4 - - nosuite"
        "crossbeam-epoch 0.9.18 - - nosuite"
        "parking_lot_core 0.9.10 - - nosuite"
        "string_cache 0.8.7 - - nosuite"
    )
fi
# How many statics each crate had ported when last measured (BENCHMARKS.md): fewer is a
# regression and fails the run; more is printed, to update the table and this list.
declare -A expect_ported=(
    [colored]=1 [log]=3 [tracing-core]=7
    [slog-scope]=1 [yansi]=2 [console]=3 [num_cpus]=2 [ustr]=0 [rayon-core]=3 [signal-hook-registry]=0
)
# Outside the repository: a crate inside it would be taken for an unlisted workspace member.
work=${PORT_REAL_DIR:-${TMPDIR:-/tmp}/vnet-port-real}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR_PORT:-$root/target/port-real}
rm -rf "$work"
mkdir -p "$work"

cargo build -q -p vnet-lint --manifest-path "$root/Cargo.toml"
# The binary just built, never an older one from another target directory.
lint="$CARGO_TARGET_DIR/debug/cargo-vnet-lint"

fetch() { # name version -> prints the copied source directory
    local name=$1 version=$2 probe="$work/.fetch-$name"
    mkdir -p "$probe/src"
    printf '[package]\nname = "fetch-probe"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
        "$name" "$version" >"$probe/Cargo.toml"
    : >"$probe/src/lib.rs"
    cargo fetch -q --manifest-path "$probe/Cargo.toml" >&2
    local src
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" | head -n1)
    cp -r "$src" "$work/$name"
    rm -rf "$probe"
    (cd "$work/$name" && git init -q && git add -A && git -c user.name=ci -c user.email=ci@invalid commit -qm "$name $version as published")
    echo "$work/$name"
}

failed=0
printf '| crate | findings | ported | left | tests switched | 2nd --fix | suite as published: runs failed | ported suite ×%s parallel | no-std build |\n|---|---|---|---|---|---|---|---|---|\n' "$runs" >"$work/table.md"
for spec in "${crates[@]}"; do
    read -r name version features suite_env mode <<<"$spec"
    # ONLY="name …": some crates of the list.
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    env_args=()
    [ "$suite_env" = "-" ] || IFS=, read -r -a env_args <<<"$suite_env"
    echo "==> $name $version"
    dir=$(fetch "$name" "$version")
    cd "$dir"
    feature_args=()
    [ "$features" = "-" ] || feature_args=(--features "$features")
    # The whole suite, in parallel: every test target, or (a package that does not ship the
    # `tests/` its manifest names) the library's tests and the doc tests.
    suite() {
        if [ -d tests ] || ! grep -q '^\[\[test\]\]' Cargo.toml; then
            env "${env_args[@]}" cargo test -q "${feature_args[@]}" -- --test-threads=8
        else
            env "${env_args[@]}" cargo test -q "${feature_args[@]}" --lib -- --test-threads=8 &&
                env "${env_args[@]}" cargo test -q "${feature_args[@]}" --doc -- --test-threads=8
        fi
    }
    # The suite as published, for comparison.
    before=0
    [ "${mode:-}" = nosuite ] && before=-
    for i in $(seq "$([ "${mode:-}" = nosuite ] && echo 0 || echo "$runs")"); do
        suite >"$work/$name.before.$i.log" 2>&1 || before=$((before + 1))
    done
    findings=$("$lint" vnet-lint check --message-format json . | grep -c '"code":"VN10[123]"' || true)
    set +e
    "$lint" vnet-lint check --fix --unsafe-fixes --allow-dirty --runtime-path "$root/vnet-runtime" . \
        >"$work/$name.fix.out" 2>"$work/$name.fix.err"
    set -e
    grep -E '^(ported|  (ported|left) )' "$work/$name.fix.err" || true
    summary=$(grep -E '^ported ' "$work/$name.fix.err" | tail -n1)
    ported=$(grep -c '^  ported ' "$work/$name.fix.err" || true)
    left=$(sed -n 's/.*left \([0-9]*\) alone.*/\1/p' <<<"$summary")
    expected=${expect_ported[$name]:-}
    if [ -n "$expected" ] && [ "$ported" -lt "$expected" ]; then
        echo "$name: ported $ported statics, $expected when last measured" >&2
        ported="$ported (REGRESSED: was $expected)"
        failed=1
    elif [ -n "$expected" ] && [ "$ported" -gt "$expected" ]; then
        echo "$name: ported $ported statics, $expected when last measured: update BENCHMARKS.md and expect_ported" >&2
    fi
    git add -A && git -c user.name=ci -c user.email=ci@invalid commit -q --allow-empty -m "cargo vnet-lint check --fix --unsafe-fixes"
    # A second --fix changes nothing (and, with nothing to write, builds nothing).
    set +e
    "$lint" vnet-lint check --fix --unsafe-fixes --runtime-path "$root/vnet-runtime" . >/dev/null 2>"$work/$name.fix2.err"
    set -e
    if [ -z "$(git status --porcelain)" ] && grep -q '^ported 0 statics' "$work/$name.fix2.err"; then
        second=unchanged
    else
        second=CHANGED
        failed=1
        git status --porcelain >&2
    fi
    # No hand edit: the fix switched the tests to `#[vnet_test]` itself.
    switched=$({ grep -rE '#\[vnet_runtime::vnet_test\]' src tests 2>/dev/null || true; } | wc -l)
    echo "tests switched to #[vnet_test]: $switched"
    suite=ok
    if [ "${mode:-}" = nosuite ]; then
        # Not run: the build of the port is checked instead.
        if cargo check -q --manifest-path Cargo.toml >"$work/$name.test.1.log" 2>&1; then suite="builds"; else suite=FAILED; failed=1; fi
    fi
    for i in $(seq "$([ "${mode:-}" = nosuite ] && echo 0 || echo "$runs")"); do
        if ! suite >"$work/$name.test.$i.log" 2>&1; then
            suite="FAILED (run $i)"
            failed=1
            tail -n 40 "$work/$name.test.$i.log" >&2
            break
        fi
    done
    nostd=n/a
    if grep -qE 'cfg_attr\(.*no_std' src/lib.rs; then
        if cargo build -q --lib --no-default-features --manifest-path Cargo.toml >"$work/$name.nostd.log" 2>&1; then
            nostd=ok
        else
            nostd=FAILED
            failed=1
            tail -n 20 "$work/$name.nostd.log" >&2
        fi
    fi
    printf '| %s %s | %s | %s | %s | %s | %s | %s/%s | %s | %s |\n' "$name" "$version" "$findings" "$ported" "${left:-?}" "$switched" "$second" "$before" "$runs" "$suite" "$nostd" >>"$work/table.md"
    cd "$root"
done
cat "$work/table.md"
exit "$failed"
