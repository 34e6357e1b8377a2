// Package ingresscmd is the ingress command: an HTTPS server (ingress.Server) that turns the
// webhooks of IdPs, HR systems and SOAR workflows into jobs. cmd/ingress only calls Main.
package ingresscmd

import (
	"context"
	"fmt"
	"io"

	"github.com/offboard-dev/genesys-deactivator/internal/httpserve"
)

const usageText = `Usage: ingress run --config ingress.json [--listen :8443 --tls-cert-file F --tls-key-file F] [flags]
       ingress healthcheck [--url http://127.0.0.1:8081/readyz]

Accepts leaver events over HTTPS from the sources of ingress.json (Standard Webhooks senders,
Okta event hooks, HR systems), authenticates and validates them, and publishes one job per
event; it answers 2xx only after JetStream stored every job of the request. Stateless: run as
many replicas as you like behind any load balancer. Every flag can also be set by the
environment variable its text names; NATS flags are shared with the worker. 'ingress
healthcheck' is for container health checks. 'ingress COMMAND --help' lists a command's flags.
`

// Main runs the ingress command with args (without the program name) and returns its exit
// status: 0 on success, 1 when the command failed, 2 for bad flags, arguments or configuration.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stderr)
	case "healthcheck":
		return httpserve.Healthcheck(ctx, "ingress healthcheck", "http://127.0.0.1:8081/readyz", args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return 0
	}
	fmt.Fprintf(stderr, "ingress: unknown command %q\n\n%s", args[0], usageText)
	return 2
}
