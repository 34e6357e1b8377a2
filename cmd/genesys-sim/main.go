// Command genesys-sim runs the Genesys Cloud simulator (package genesyssim) as a process, for
// dev runs, compose and container tests. Run it with --help for its flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genesys-sim:", err)
		os.Exit(1)
	}
}
