// Command genesysctl is the operator's tool for a genesys-deactivator deployment: job status,
// recent jobs by outcome, and dead letters (list, show, replay, purge). Run it with --help;
// internal/ctl holds the logic.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/internal/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
