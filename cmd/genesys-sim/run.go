package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

const shutdownTimeout = 5 * time.Second

// run parses args, serves the simulator until ctx is done, then shuts down gracefully.
// --help prints the usage to stdout and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stdout)
			return nil
		}
		return fmt.Errorf("%w (see --help)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	sim, err := genesyssim.New(o.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	announce(stdout, stderr, ln.Addr(), o.cfg)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Hanging requests (timeout faults) may outlive the grace period; then connections are cut.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-served
	fmt.Fprintln(stdout, "genesys-sim: stopped")
	return nil
}

// announce prints where the simulator listens and which credentials it accepts. The simulator's
// client secrets are test fixtures, printed so that a newcomer can use them.
func announce(stdout, stderr io.Writer, addr net.Addr, cfg genesyssim.Config) {
	base := "http://" + addr.String()
	fmt.Fprintf(stdout, "genesys-sim listening on %s\n", base)
	fmt.Fprintf(stdout, "  API base URL: %s   token URL: %s/oauth/token\n", base, base)
	if len(cfg.Clients) == 0 {
		fmt.Fprintf(stdout, "  client id: %s   client secret: %s\n", genesyssim.DefaultClientID, genesyssim.DefaultClientSecret)
	}
	for _, c := range cfg.Clients {
		fmt.Fprintf(stdout, "  client id: %s   client secret: %s\n", c.ID, c.Secret)
	}
	fmt.Fprintf(stdout, "  admin: %s/admin/health, /admin/requests, /admin/counters (see --help)\n", base)
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintln(stderr, "genesys-sim: WARNING: listening beyond loopback; /admin paths have no authentication")
	}
}
