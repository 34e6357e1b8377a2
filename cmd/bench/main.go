// Command bench runs the budget and worker benchmarks against the Genesys
// simulator; each prints one line of JSON. See docs/budget.md and make bench.
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
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
