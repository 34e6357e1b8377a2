package natsconn_test

import (
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

// DrainAndWait returns only once the connection has closed and its callbacks have run: a command
// that returned earlier had its disconnect log line written after it, into an output its caller
// was already reusing (a data race the worker's tests met).
func TestDrainAndWaitReturnsAfterTheCallbacks(t *testing.T) {
	t.Parallel()
	url := startServer(t, &server.Options{})
	for range 20 {
		var disconnected atomic.Bool
		c := natsconn.NewCloser()
		o := natsconn.Options{URL: url}
		nc, err := o.Connect(c.Option(),
			nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected.Store(true) }))
		if err != nil {
			t.Fatal(err)
		}
		c.DrainAndWait(nc)
		if !nc.IsClosed() || !disconnected.Load() {
			t.Fatalf("after DrainAndWait: closed %t, disconnect callback run %t; want both", nc.IsClosed(), disconnected.Load())
		}
		c.DrainAndWait(nc) // a closed connection: returns at once
	}
}
