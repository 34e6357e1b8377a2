// Command worker takes Genesys Cloud deactivation jobs from NATS JetStream and
// carries them out. `worker --dev` runs everything on one machine; `worker
// --help` lists every flag and its environment variable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/internal/workercmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := workercmd.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
