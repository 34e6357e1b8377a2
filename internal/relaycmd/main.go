// Package relaycmd is the relay command: it delivers audit events from NATS JetStream to the
// security team's webhook endpoints (relay.Relay), and manages endpoints and replays. cmd/relay
// only calls Main.
package relaycmd

import (
	"context"
	"fmt"
	"io"

	"github.com/offboard-dev/genesys-deactivator/internal/httpserve"
)

const usageText = `Usage: relay run --config relay.json [flags]
       relay endpoints list [flags]
       relay endpoints enable NAME [flags]
       relay endpoints disable NAME [--reason TEXT] [flags]
       relay replay --config relay.json --endpoint NAME --since TIME [--until TIME] [flags]
       relay sink --secrets-env NAME | --secret-file FILE [--listen ADDR] [--journal FILE]
       relay healthcheck [--url http://127.0.0.1:8081/healthz]

Delivers every audit event to the webhook endpoints of relay.json: signed (Standard Webhooks),
at least once, in order per endpoint, never dropped silently. Run as many replicas as you like.
Every flag can also be set by the environment variable its text names; NATS flags are shared
with the worker. 'relay sink' is a verifying webhook receiver for development and tests;
'relay healthcheck' is for container health checks. 'relay COMMAND --help' lists a command's flags.
`

// Main runs the relay command with args (without the program name) and returns its exit status:
// 0 on success, 1 when the command failed, 2 for bad flags, arguments or configuration.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "endpoints":
		return endpointsCommand(ctx, args[1:], stdout, stderr)
	case "replay":
		return replayCommand(ctx, args[1:], stdout, stderr)
	case "sink":
		return sinkCommand(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return httpserve.Healthcheck(ctx, "relay healthcheck", "http://127.0.0.1:8081/healthz", args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return 0
	}
	fmt.Fprintf(stderr, "relay: unknown command %q\n\n%s", args[0], usageText)
	return 2
}
