// Command ingress is the HTTPS front door for systems that learn of a leaver first: it
// authenticates their webhooks (Standard Webhooks, Okta event hooks, HR systems), turns each
// event into a job and answers 2xx only once JetStream has stored it. `ingress --help` lists
// the commands; `ingress run --help` every flag and its environment variable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/offboard-dev/genesys-deactivator/internal/ingresscmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ingresscmd.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
