package natsconn

import (
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// Closer lets a command drain its connection and wait until it has closed. Drain returns at once
// and closes the connection later; a command that returned before that would have the
// connection's callbacks (a log line on disconnect) run after it, writing to an output its caller
// may already reuse, and its last acks might not have left. The zero value is not usable: use
// NewCloser, pass Option to Connect, and call DrainAndWait once when done.
type Closer struct{ closed chan struct{} }

// NewCloser returns a Closer for one connection.
func NewCloser() *Closer { return &Closer{closed: make(chan struct{})} }

// Option is the connect option that tells the Closer when the connection has closed.
func (c *Closer) Option() nats.Option {
	return nats.ClosedHandler(func(*nats.Conn) { close(c.closed) })
}

// DrainAndWait drains nc and waits until it has closed, at most the drain timeout and a second.
// A connection that is already closed returns at once.
func (c *Closer) DrainAndWait(nc *nats.Conn) {
	if err := nc.Drain(); err != nil {
		return
	}
	t := time.NewTimer(nats.DefaultDrainTimeout + time.Second)
	defer t.Stop()
	select {
	case <-c.closed:
	case <-t.C:
	}
}

// ReconnectLogs logs each disconnection (warn, with its error) and reconnection (info, with the
// server's redacted URL): the option every long-running command connects with.
func ReconnectLogs(log *zap.Logger) nats.Option {
	return func(o *nats.Options) error {
		o.DisconnectedErrCB = func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", zap.Error(err)) }
		o.ReconnectedCB = func(nc *nats.Conn) { log.Info("NATS reconnected", zap.String("url", nc.ConnectedUrlRedacted())) }
		return nil
	}
}
