// Command relay delivers audit events from NATS JetStream to the security team's webhook
// endpoints, signed with Standard Webhooks, and manages endpoints and replays. `relay --help`
// lists the commands; `relay run --help` every flag and its environment variable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/internal/relaycmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := relaycmd.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
