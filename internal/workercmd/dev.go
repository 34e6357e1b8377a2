package workercmd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// devEnv is what --dev runs besides the worker: an embedded NATS server with
// JetStream and the Genesys simulator with its default seeded org.
type devEnv struct {
	ns      *server.Server
	sim     *http.Server
	simDone chan struct{}
	dataDir string
}

// startDev starts the embedded NATS server and the simulator and points cfg
// at them.
func startDev(cfg *Config, log *zap.Logger) (*devEnv, error) {
	host, portStr, err := net.SplitHostPort(cfg.DevNATSListen)
	if err != nil {
		return nil, fmt.Errorf("--dev-nats-listen %q: %w", cfg.DevNATSListen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--dev-nats-listen %q: bad port", cfg.DevNATSListen)
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default port
	}
	d := &devEnv{dataDir: filepath.Join(cfg.DevDataDir, "nats")}
	d.ns, err = server.NewServer(&server.Options{
		ServerName: "genesys-dev", Host: host, Port: port, JetStream: true, StoreDir: d.dataDir,
		NoSigs: true, NoLog: true, HTTPPort: 0,
	})
	if err != nil {
		return nil, fmt.Errorf("dev NATS server: %w", err)
	}
	d.ns.Start()
	if !d.ns.ReadyForConnections(10 * time.Second) {
		d.ns.Shutdown()
		return nil, fmt.Errorf("dev NATS server did not start on %s (is the port in use? set --dev-nats-listen)", cfg.DevNATSListen)
	}
	sim, err := genesyssim.New(genesyssim.Config{})
	if err != nil {
		d.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.DevSimListen)
	if err != nil {
		d.close()
		return nil, fmt.Errorf("--dev-sim-listen %s: %w", cfg.DevSimListen, err)
	}
	d.sim = &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	d.simDone = make(chan struct{})
	go func() {
		defer close(d.simDone)
		if err := d.sim.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("simulator", zap.Error(err))
		}
	}()
	cfg.NATS = natsconn.Options{URL: d.ns.ClientURL()}
	cfg.BaseURL, cfg.Region, cfg.TokenURL = "http://"+ln.Addr().String(), "", ""
	cfg.ClientID, cfg.ClientSecret = "sim-client", "sim-secret"
	return d, nil
}

func (d *devEnv) close() {
	if d.sim != nil {
		_ = d.sim.Close()
		<-d.simDone
	}
	d.ns.Shutdown()
	d.ns.WaitForShutdown()
}

// startedDev prints what dev mode started and what to try.
func startedDev(w io.Writer, cfg Config, sinkURL, ingress string) {
	enqueue := "go run ./cmd/enqueue --file examples/offboarding.csv --wait"
	if cfg.NATS.URL != "nats://127.0.0.1:4222" {
		enqueue += " --nats-url " + cfg.NATS.URL
	}
	fmt.Fprintf(w, `
genesys-deactivator is running in dev mode
  NATS       %s  (JetStream data in %s)
  Genesys    simulator at %s  (100 seeded users; client sim-client / sim-secret; admin paths under /admin)
  worker     protects roles %q; /healthz /readyz /metrics on %s
  relay      signs every audit event (Standard Webhooks) and posts it to a verifying sink at %s;
             the sink prints one line per event below
%s
Deactivate the example leavers and wait for the outcomes:
  %s
Edge cases (already inactive, unknown, a protected admin, a malformed row):
  go run ./cmd/enqueue --file examples/edge-cases.csv --skip-invalid --wait%s

`, cfg.NATS.URL, filepath.Join(cfg.DevDataDir, "nats"), cfg.BaseURL, cfg.ProtectRoles, cfg.HTTPListen, sinkURL, ingress, enqueue,
		map[bool]string{true: "", false: " --nats-url " + cfg.NATS.URL}[cfg.NATS.URL == "nats://127.0.0.1:4222"])
}
