// Command enqueue publishes Genesys Cloud deactivation jobs: one user given by flags, or a batch
// from a CSV or JSON-lines file, and with --wait follows them to their outcomes. Run it with
// --help for its flags; internal/enqueue holds the logic.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := enqueue.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
