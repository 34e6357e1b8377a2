package ctl

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// session is one command's connection to NATS and where it writes. It is used by one goroutine,
// except that the connection's error handler records permission violations concurrently.
type session struct {
	nc             *nats.Conn
	js             jetstream.JetStream
	names          jobs.Names
	natsUser       string // who the CLI connected as, for the audit trail
	json           bool   // --output json
	stdout, stderr io.Writer
	nowFunc        func() time.Time

	mu        sync.Mutex
	violation string // the last permission violation the server reported
}

// connect connects to NATS as o says. The server reports a refused publish or subscribe
// asynchronously; the session keeps the last such report so that a JetStream call that then
// times out can say why.
func connect(o *opts, stdout, stderr io.Writer) (*session, error) {
	s := &session{
		names: jobs.Names{Prefix: cmp.Or(o.Prefix, audit.DefaultPrefix)}, natsUser: o.NATS.UserName(), json: o.Output == OutputJSON,
		stdout: stdout, stderr: stderr, nowFunc: time.Now,
	}
	if o.nowFunc != nil {
		s.nowFunc = o.nowFunc
	}
	o.NATS.Name = "genesysctl"
	nc, err := o.NATS.Connect(nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			s.mu.Lock()
			s.violation = err.Error()
			s.mu.Unlock()
		}
	}))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s.nc, s.js = nc, js
	return s, nil
}

func (s *session) close() { s.nc.Close() }

// explain adds the last permission violation, if the server reported one, to err: JetStream
// calls the server refuses end as timeouts, which alone would hide the cause.
func (s *session) explain(err error) error {
	if err == nil {
		return nil
	}
	_ = s.nc.FlushTimeout(time.Second) // let an -ERR already sent arrive
	s.mu.Lock()
	v := s.violation
	s.mu.Unlock()
	if v == "" {
		return err
	}
	return fmt.Errorf("%w (NATS refused it: %s; may NATS user %q do this?)", err, v, s.natsUser)
}

// fail reports err on stderr, explained, and returns ExitFailure.
func (s *session) fail(cmd string, err error) int {
	fmt.Fprintf(s.stderr, "genesysctl %s: %v\n", cmd, s.explain(err))
	return ExitFailure
}

// emit writes v as one JSON line on stdout.
func (s *session) emit(v any) {
	enc := json.NewEncoder(s.stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // stdout; nothing better to do
}

// identity is who a changing command records as having asked: the operator and the NATS user.
func (s *session) identity(operator string) string {
	return operator + " (genesysctl, NATS user " + s.natsUser + ")"
}
