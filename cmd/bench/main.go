// Command bench runs the budget and worker benchmarks against the Genesys
// simulator; each prints one line of JSON. See docs/benchmarks.md (results),
// docs/scale.md (the budget) and make bench.
// bench --help (or -h, or no arguments) lists them.
//
//	bench fleet    [-limit 100 -window 1s -sizes 1,2,4,8 -windows 4]
//	bench overhead [-jobs 20000 -limit 1000000 -concurrency 16]
//	bench latency  [-limit 300 -window 1m -idle 30 -backlog 10000 -urgent 100]
//	bench schedule [-jobs 1000 -ahead 20s -limit 300 -window 1m -steps none]
//	bench report   [-events 1000000 -runs 2]
//	bench ingress  [-jobs 20000 -batch 50 -concurrency 16 -runs 3]
//	bench baseline [-users 1000 -limit 100 -window 1s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/bench"
)

// benchmarks are the benchmarks bench.Run knows, with one line each for the usage.
var benchmarks = []struct{ name, what string }{
	{"fleet", "drains a backlog with each fleet size in turn: what reached the simulator against the budget"},
	{"overhead", "the full path in a worker process (budget on KV, in memory) against a bare JetStream loop"},
	{"latency", "publish to PATCH 200 and to audit event, idle and for urgent jobs behind a normal backlog"},
	{"plan", "the contact-center plan at the budget: calls per leaver, urgent leavers behind a backlog"},
	{"schedule", "jobs scheduled for one instant: how fast they fire and finish after it"},
	{"drift", "the drift watch's call and check rate at its share of the budget while leavers flow"},
	{"reconcile", "worker reconcile's call rate over an HR list at its share of the budget while leavers flow"},
	{"report", "genesysctl report over a year of audit events: time and peak memory, each run in its own process"},
	{"ingress", "signed webhook events one ingress process answers after JetStream stored them: events/s, p50/p99"},
	{"baseline", "the original tutorial's script against two of our workers on the same rate limit"},
}

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one benchmark and returns the exit status: 0, 1 when the benchmark failed (or a flag
// was refused), 2 for an unknown benchmark. --help, -h and no arguments print the usage on
// stdout and exit 0; a benchmark's -h prints its flags and exits 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	if !known(args[0]) {
		fmt.Fprintf(stderr, "bench: unknown benchmark %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	err := bench.Run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK // the flag package printed the benchmark's flags
	}
	fmt.Fprintln(stderr, "bench:", err)
	return exitError
}

// known reports whether name is a benchmark or one of the child processes benchmarks start.
func known(name string) bool {
	if name == "worker-child" || name == "report-child" {
		return true
	}
	for _, b := range benchmarks {
		if b.name == name {
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: bench BENCHMARK [flags]

Runs one benchmark against the Genesys simulator and an in-process NATS server, and prints
its result as one line of JSON. bench BENCHMARK -h lists its flags.

Benchmarks:
`)
	for _, b := range benchmarks {
		fmt.Fprintf(w, "  %-10s %s\n", b.name, b.what)
	}
}
