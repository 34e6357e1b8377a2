package ingresscmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
)

// Dev fixtures: the "secrets" of dev mode's sources. They are committed on purpose and are NOT
// secrets: dev mode serves plain HTTP on loopback only, and prints them in its curl lines. Never
// use them outside `worker --dev`.
const (
	devWebhookSecret = "whsec_ZGV2LW1vZGUtb25seS1ub3QtYS1zZWNyZXQtMDAwMQ==" // "dev-mode-only-not-a-secret-0001"
	devOktaSecret    = "dev-mode-only-okta-authorization-value"
	devHRSecret      = "dev-mode-only-hr-hmac-key"
)

// devSources is one source of each kind, for dev mode. A kind this build does not know (see
// ingress.Kinds) is skipped, and so is one whose constructor refuses the dev settings: dev mode
// shows what the build has.
var devSources = []struct {
	cfg    ingress.SourceConfig
	secret string
}{
	{ingress.SourceConfig{Name: "soar", Kind: ingress.KindWebhook, SecretFiles: []string{"dev:soar"}}, devWebhookSecret},
	{ingress.SourceConfig{Name: "okta", Kind: ingress.KindOkta, SecretFiles: []string{"dev:okta"}}, devOktaSecret},
	{ingress.SourceConfig{Name: "hr", Kind: ingress.KindHR, SecretFiles: []string{"dev:hr"}}, devHRSecret},
}

// DevConfig configures [StartDev].
type DevConfig struct {
	// JetStream reaches the provisioned jobs stream. Required.
	JetStream jetstream.JetStream
	// Prefix of the deployment. Defaults to "genesys".
	Prefix string
	// Listen is the plain-HTTP address, on loopback. Defaults to "127.0.0.1:8088"; port 0 picks
	// a free one.
	Listen string
	// Logger is the ingress's. Defaults to none.
	Logger *zap.Logger
}

// Dev is an ingress serving the dev sources on loopback: what `worker --dev` runs. Stop it once.
type Dev struct {
	// URL is where it listens (http://127.0.0.1:port).
	URL string
	// Examples are a curl command line per source that can show one.
	Examples []ingress.Example
	stop     func()
}

// StartDev serves the dev sources over plain HTTP on cfg.Listen, which must be a loopback
// address.
func StartDev(_ context.Context, cfg DevConfig) (*Dev, error) {
	if cfg.JetStream == nil {
		return nil, errors.New("ingress dev: JetStream is required")
	}
	log := cmp.Or(cfg.Logger, zap.NewNop())
	listen := cmp.Or(cfg.Listen, "127.0.0.1:8088")
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return nil, fmt.Errorf("--dev-ingress-listen %q: want a loopback address (plain HTTP)", listen)
	}
	secrets := map[string]string{}
	var sources []ingress.SourceConfig
	read := ingress.WithSecretReader(func(path string) (string, error) {
		if s, ok := secrets[path]; ok {
			return s, nil
		}
		return "", fmt.Errorf("secret file %s: no such dev fixture", path)
	})
	for _, ds := range devSources {
		secrets[ds.cfg.SecretFiles[0]] = ds.secret
		one := ingress.Config{Prefix: cfg.Prefix, Sources: []ingress.SourceConfig{ds.cfg}}
		if _, err := ingress.New(one, cfg.JetStream, nil, read); err != nil {
			log.Info("dev ingress: source skipped", zap.String("source", ds.cfg.Name), zap.String("kind", string(ds.cfg.Kind)), zap.String("why", err.Error()))
			continue
		}
		sources = append(sources, ds.cfg)
	}
	srv, err := ingress.New(ingress.Config{Prefix: cfg.Prefix, Sources: sources}, cfg.JetStream, log, read)
	if err != nil {
		return nil, fmt.Errorf("ingress dev: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("--dev-ingress-listen %s: %w", listen, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	return &Dev{URL: url, Examples: srv.Examples(url), stop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-served
	}}, nil
}

// Stop stops accepting and waits for requests in flight (5 s at most).
func (d *Dev) Stop() { d.stop() }

// Describe is what dev mode prints about the ingress: where it listens and a curl line per
// source.
func (d *Dev) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  ingress    %s/v1/sources/<name> (plain HTTP on loopback; dev fixtures as secrets, not secrets)\n", d.URL)
	for _, ex := range d.Examples {
		fmt.Fprintf(&b, "\nPost a leaver to source %s (%s):\n  %s\n", ex.Source, ex.Kind, ex.Command)
	}
	return b.String()
}
