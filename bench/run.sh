#!/usr/bin/env bash
# Runs the side-by-side benchmark of entrasaml, crewjam/saml and gosaml2,
# keeps the raw results in results/<date>.txt, and prints a benchstat table
# (columns by library, entrasaml first), the medians with the ratios
# crewjam/entrasaml and gosaml2/entrasaml, and the 2-core/1-core throughput
# ratio of BenchmarkVerifyParallel.
#
#   bash bench/run.sh                 # COUNT=6 runs of every benchmark
#   COUNT=10 BENCHTIME=2s bash bench/run.sh
#   bash bench/run.sh results/2026-11-20.txt   # only print the tables of a results file
#
# Environment: COUNT (default 6), BENCHTIME (go test -benchtime, default 1s),
# BENCHSTAT (a benchstat binary; installed into a temporary GOBIN if absent).
# The responses are signed at the current time and remade every 30 s, and
# crewjam refuses them 90 s after issue: keep BENCHTIME under a minute.
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}

if [[ $# -ge 1 ]]; then
	out=$1
else
	# Builds, and checks that every library accepts every input and refuses
	# every tampered one, before a results file is made.
	go test -count 1 -run TestPeers . >&2
	mkdir -p results
	out=results/$(date -u +%Y-%m-%d).txt
	n=2
	while [[ -e $out ]]; do
		out=results/$(date -u +%Y-%m-%d)-$n.txt
		n=$((n + 1))
	done

	# COUNT rounds of -count 1 rather than one -count COUNT: each round runs
	# the three libraries back to back, so a burst of load on a shared
	# machine spreads over all of them instead of hitting one library's
	# every sample.
	# The worst-case benchmarks (BenchmarkWorst*, BenchmarkVerifyGroups)
	# measure entrasaml alone; the README says how to run them.
	seq_cmd="go test -run XXX -bench . -skip BenchmarkVerifyParallel|BenchmarkWorst|BenchmarkVerifyGroups -benchmem -benchtime $benchtime -count 1 -cpu 1"
	par_cmd="go test -run XXX -bench BenchmarkVerifyParallel -benchmem -benchtime $benchtime -count 1 -cpu 1,2"
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git status --porcelain -- .. 2>/dev/null) ]]; then
		commit+=-dirty
	fi
	{
		# Configuration lines (key: value) label every result in benchstat.
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "commit: $commit"
		echo "go: $(go env GOVERSION)"
		echo "nproc: $(nproc)"
		echo "cpu-model: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
		echo "# $count rounds of:"
		echo "#   $seq_cmd"
		echo "#   $par_cmd"
		echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$out"
	echo "writing $out" >&2
	for ((i = 1; i <= count; i++)); do
		echo "round $i of $count" >&2
		$seq_cmd | tee -a "$out" >&2
		$par_cmd | tee -a "$out" >&2
	done
	echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
fi

# benchstat: columns by library; the first column (entrasaml) is the base.
benchstat=${BENCHSTAT:-}
if [[ -z $benchstat ]]; then
	if command -v benchstat >/dev/null; then
		benchstat=benchstat
	else
		bin=${TMPDIR:-/tmp}/entrasaml-bench-bin
		if [[ ! -x $bin/benchstat ]]; then
			echo "installing benchstat into $bin" >&2
			GOBIN=$bin GOFLAGS= go install golang.org/x/perf/cmd/benchstat@latest >&2 || true
		fi
		[[ -x $bin/benchstat ]] && benchstat=$bin/benchstat
	fi
fi
if [[ -n $benchstat ]]; then
	echo
	echo "## benchstat -col /lib $out"
	"$benchstat" -col /lib "$out"
else
	echo "benchstat is unavailable: medians only" >&2
fi

# Medians and ratios, with plain awk (mawk or gawk).
echo
awk '
function median(key,    n, i, j, v, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = vals[key, i]
	for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function dur(ns) {
	if (ns >= 1e6) return sprintf("%.2f ms", ns / 1e6)
	if (ns >= 1e3) return sprintf("%.1f us", ns / 1e3)
	return sprintf("%.0f ns", ns)
}
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
/^Benchmark/ {
	name = $1
	if (!match(name, /\/lib=[a-z0-9]+/)) next
	lib = substr(name, RSTART + 5, RLENGTH - 5)
	bench = substr(name, 10, RSTART - 10) substr(name, RSTART + RLENGTH)
	if (!(bench in seen)) { seen[bench] = 1; order[++nb] = bench }
	for (i = 3; i < NF; i += 2) {
		key = bench SUBSEP lib SUBSEP $(i + 1)
		vals[key, ++cnt[key]] = $i
		if (cnt[key] > runs) runs = cnt[key]
	}
}
END {
	printf "## medians of %d runs; ratios of medians (>1: entrasaml is faster or allocates less)\n", runs
	fmt = "%-28s %12s %12s %12s %18s %18s\n"
	split("ns/op allocs/op B/op", units, " ")
	for (u = 1; u <= 3; u++) {
		unit = units[u]
		printf "\n" fmt, unit, "entrasaml", "crewjam", "gosaml2", "crewjam/entrasaml", "gosaml2/entrasaml"
		for (b = 1; b <= nb; b++) {
			bench = order[b]
			for (l = 1; l <= 3; l++) {
				lib = (l == 1) ? "entrasaml" : (l == 2) ? "crewjam" : "gosaml2"
				key = bench SUBSEP lib SUBSEP unit
				m[lib] = (key in cnt) ? median(key) : ""
				shown[lib] = (m[lib] == "") ? "-" : (unit == "ns/op") ? dur(m[lib]) : sprintf("%.0f", m[lib])
			}
			printf fmt, bench, shown["entrasaml"], shown["crewjam"], shown["gosaml2"],
				ratio(m["crewjam"], m["entrasaml"]), ratio(m["gosaml2"], m["entrasaml"])
		}
	}
	printf "\nVerifyParallel throughput, 2 cores / 1 core (ns/op at -cpu 1 over ns/op at -cpu 2; ideal 2.00x):\n"
	for (l = 1; l <= 3; l++) {
		lib = (l == 1) ? "entrasaml" : (l == 2) ? "crewjam" : "gosaml2"
		k1 = "VerifyParallel" SUBSEP lib SUBSEP "ns/op"
		k2 = "VerifyParallel-2" SUBSEP lib SUBSEP "ns/op"
		if ((k1 in cnt) && (k2 in cnt)) printf "  %-10s %s\n", lib, ratio(median(k1), median(k2))
	}
}' "$out"
