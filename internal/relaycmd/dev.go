package relaycmd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// DevConfig configures [StartDev].
type DevConfig struct {
	// JetStream reaches the provisioned audit stream. Required.
	JetStream jetstream.JetStream
	// Prefix of the deployment. Defaults to audit.DefaultPrefix ("genesys").
	Prefix string
	// Listen is the sink's address. Defaults to "127.0.0.1:0" (a free port).
	Listen string
	// Out receives the sink's lines, one per event. Required.
	Out io.Writer
	// Logger and Observer are the relay's. Default to none.
	Logger   *zap.Logger
	Observer relay.Observer
}

// Dev is a relay delivering to a local verifying sink: what `worker --dev` runs. Stop it once.
type Dev struct {
	// URL is where the sink listens; Secret is the whsec_ secret the relay signs with.
	URL, Secret string
	stop        func()
}

// StartDev starts a relay.Sink on a loopback port and a relay delivering every new audit event
// (ops events included) to it, signed with a fresh random secret. Stop ends both.
func StartDev(ctx context.Context, cfg DevConfig) (*Dev, error) {
	if cfg.JetStream == nil || cfg.Out == nil {
		return nil, errors.New("relay dev: JetStream and Out are required")
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	secret := audit.SecretPrefix + base64.StdEncoding.EncodeToString(key)
	sink, err := relay.NewSink([]string{secret}, cfg.Out)
	if err != nil {
		return nil, err
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("relay dev sink: %w", err)
	}
	srv := &http.Server{Handler: sink, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	stopSink := func() { _ = srv.Close(); <-served }
	url := "http://" + ln.Addr().String() + "/"
	r, err := relay.New(ctx, relay.Config{
		JetStream: cfg.JetStream, Prefix: cfg.Prefix, Logger: cfg.Logger, Observer: cfg.Observer,
		Endpoints: []relay.Endpoint{{Name: "dev-sink", URL: url, Secrets: []string{secret}, AllowPrivate: true, Timeout: 5 * time.Second}},
	})
	if err != nil {
		stopSink()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if err := r.Run(rctx); err != nil && cfg.Logger != nil {
			cfg.Logger.Error("dev relay stopped", zap.Error(err))
		}
	}()
	return &Dev{URL: url, Secret: secret, stop: func() { cancel(); <-ran; stopSink() }}, nil
}

// Stop stops the relay (deliveries in flight finish first), then the sink.
func (d *Dev) Stop() { d.stop() }
