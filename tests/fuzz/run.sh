#!/usr/bin/env bash
# Runs libFuzzer targets of a -Dfuzz=true build folder, one after the other:
#
#   tests/fuzz/run.sh BUILD SECONDS [TARGET...]     (default: every target)
#
# Each reads tests/fuzz/corpus/TARGET/ and writes what it finds to
# BUILD/fuzz/corpus/TARGET/, crashers to BUILD/fuzz/crashes/TARGET/ and its log
# to BUILD/fuzz/logs/TARGET.log; the last lines of each log (executions, time,
# corpus) are printed. Exits 1 when a target crashed. Minimize a crasher with
# BUILD/tests/fuzz/fuzz_TARGET -minimize_crash=1 -runs=100000 FILE, then add
# it to tests/fuzz/corpus/TARGET/. More libFuzzer options (-jobs, -fork,
# -ignore_crashes) can be given in FUZZ_ARGS.
set -uo pipefail

usage()
{
	echo "usage: $0 BUILD SECONDS [TARGET...]" >&2
	exit 2
}

(($# >= 2)) || usage
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The dictionary of each target; none for those whose input is an alphabet.
declare -A dicts=(
	[account]=acme [authz]=acme [challenge]=acme [directory]=acme [order]=acme
	[problem]=acme [renewal_info]=acme [state]=acme [conf]=conf
	[cert_chain]=pem [link]=http [retry_after]=http [b64]="" [nonce]="" [caa]="" [persist]="" [dns_msg]="" [json_text]=json
)

targets=("$@")
if ((${#targets[@]} == 0)); then
	mapfile -t targets < <(printf '%s\n' "${!dicts[@]}" | sort)
fi

status=0
for t in "${targets[@]}"; do
	exe=$build/tests/fuzz/fuzz_$t
	if [[ ! -x $exe ]]; then
		echo "$exe: not built (meson setup with CC=clang -Dfuzz=true)" >&2
		exit 2
	fi
	out=$build/fuzz
	mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$out/logs"
	args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$out/crashes/$t/")
	# shellcheck disable=SC2206 # FUZZ_ARGS is split on purpose
	args+=(${FUZZ_ARGS:-})
	if [[ -n ${dicts[$t]:-} ]]; then
		args+=(-dict="$here/${dicts[$t]}.dict")
	fi
	echo "==> $t ($seconds s)"
	if ! "$exe" "${args[@]}" "$out/corpus/$t" "$here/corpus/$t" >"$out/logs/$t.log" 2>&1; then
		status=1
		echo "$t: crashed; see $out/logs/$t.log and $out/crashes/$t/"
	fi
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done |^#[0-9]+.*DONE' \
		"$out/logs/$t.log" | tail -n 4
done
exit "$status"
