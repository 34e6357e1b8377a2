package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// IngressConfig configures the ingress benchmark.
type IngressConfig struct {
	Events      int    // events per run
	Batch       int    // events per request in the JSON-lines runs
	Concurrency int    // requests in flight, each on its own keep-alive connection
	Runs        int    // runs of each kind (single events, batches); the medians are reported
	Binary      string // an ingress binary to run; empty: go build ./cmd/ingress
}

// IngressRun is one run: Events events in Requests requests.
type IngressRun struct {
	Requests     int     `json:"requests"`
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	P50Ms        float64 `json:"p50_ms"` // per request: send to the 2xx answer (every PubAck in)
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
}

// IngressKind is the runs of one request kind and their medians.
type IngressKind struct {
	EventsPerRequest   int          `json:"events_per_request"`
	Runs               []IngressRun `json:"runs"`
	MedianEventsPerSec float64      `json:"median_events_per_sec"`
	MedianP50Ms        float64      `json:"median_p50_ms"`
	MedianP99Ms        float64      `json:"median_p99_ms"`
}

// IngressResult is what the ingress benchmark prints.
type IngressResult struct {
	Concurrency int         `json:"concurrency"`
	Single      IngressKind `json:"single"`
	Batch       IngressKind `json:"batch"`
	// StoredJobs is the jobs stream's message count at the end: every event answered 2xx, and
	// nothing else, must be in it.
	StoredJobs uint64 `json:"stored_jobs"`
	// The CPU time (user + system) per stored event, over every run and the warm-up: of the
	// ingress process alone, and of everything (the ingress, and this process: nats-server and
	// the load). On a shared machine the rates above fall with the other load; these do not, and
	// CPUs / AllCPUMicrosPerEvent bounds what the machine would do alone.
	IngressCPUMicrosPerEvent float64 `json:"ingress_cpu_us_per_event"`
	AllCPUMicrosPerEvent     float64 `json:"all_cpu_us_per_event"`
	IdleMachineEventsPerSec  float64 `json:"idle_machine_events_per_sec_bound"`
}

// Ingress measures signed webhook events accepted per second by one ingress process (cmd/ingress,
// built and run as its own process, plain HTTP on loopback) publishing to a file-backed
// nats-server (R1, in this process): the ingress answers 2xx only once JetStream has stored
// every job of the request. The load comes from this process over keep-alive connections:
// cfg.Runs runs of single-event requests, then cfg.Runs runs of JSON-lines batches, each of
// cfg.Events events, after a short warm-up.
func Ingress(ctx context.Context, cfg IngressConfig) (IngressResult, error) {
	dir, err := os.MkdirTemp("", "bench-ingress-")
	if err != nil {
		return IngressResult{}, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.Binary
	if bin == "" {
		bin = filepath.Join(dir, "ingress")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ingress")
		if out, err := build.CombinedOutput(); err != nil {
			return IngressResult{}, fmt.Errorf("go build ./cmd/ingress (run from the module root): %w\n%s", err, out)
		}
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(dir, "js"),
		JetStreamMaxMemory: 256 << 20, JetStreamMaxStore: 16 << 30, NoLog: true, NoSigs: true})
	if err != nil {
		return IngressResult{}, err
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		return IngressResult{}, errors.New("nats server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return IngressResult{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return IngressResult{}, err
	}
	names := jobs.Names{}
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Names: names, Storage: jetstream.FileStorage}); err != nil {
		return IngressResult{}, err
	}

	// The secret is generated for this run only; the ingress reads it from a file.
	secret := "whsec_" + strings.Repeat("YmVuY2gtaW5ncmVzcy1rZXkh", 2)
	signer, err := audit.NewSigner(secret)
	if err != nil {
		return IngressResult{}, err
	}
	secretFile, configFile := filepath.Join(dir, "webhook.secret"), filepath.Join(dir, "ingress.json")
	config := fmt.Sprintf(`{"sources":[{"name":"bench","kind":"standard_webhooks","secret_files":[%q],`+
		`"rate_per_second":1000000,"burst":1000000,"max_events":%d}]}`, secretFile, max(cfg.Batch, 1))
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		return IngressResult{}, err
	}
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		return IngressResult{}, err
	}
	listen, admin := freeAddr(), freeAddr()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", configFile, "--listen", listen, "--insecure-http",
		"--admin-listen", admin, "--nats-url", srv.ClientURL(), "--log-level", "error", "--shutdown-timeout", "5s")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return IngressResult{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	defer stop()
	selfCPU0 := selfCPU()
	if err := waitReady(ctx, "http://"+admin+"/readyz", exited); err != nil {
		return IngressResult{}, fmt.Errorf("%w\n%s", err, stderr.String())
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency,
		MaxConnsPerHost: cfg.Concurrency, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	url := "http://" + listen + "/v1/sources/bench"
	l := &ingressLoad{client: client, url: url, signer: signer, concurrency: cfg.Concurrency}
	// Warm-up: connections, the server's first allocations, the stream's first blocks.
	if _, err := l.run(ctx, "warm", min(cfg.Events, 2000), 1); err != nil {
		return IngressResult{}, err
	}
	res := IngressResult{Concurrency: cfg.Concurrency}
	for _, k := range []struct {
		kind *IngressKind
		per  int
		name string
	}{{&res.Single, 1, "s"}, {&res.Batch, max(cfg.Batch, 1), "b"}} {
		k.kind.EventsPerRequest = k.per
		for i := range cfg.Runs {
			run, err := l.run(ctx, fmt.Sprintf("%s%d", k.name, i), cfg.Events, k.per)
			if err != nil {
				return res, err
			}
			k.kind.Runs = append(k.kind.Runs, run)
		}
		k.kind.MedianEventsPerSec = medianOf(k.kind.Runs, func(r IngressRun) float64 { return r.EventsPerSec })
		k.kind.MedianP50Ms = medianOf(k.kind.Runs, func(r IngressRun) float64 { return r.P50Ms })
		k.kind.MedianP99Ms = medianOf(k.kind.Runs, func(r IngressRun) float64 { return r.P99Ms })
	}
	st, err := js.Stream(ctx, names.JobsStream())
	if err != nil {
		return res, err
	}
	res.StoredJobs = st.CachedInfo().State.Msgs
	if want := uint64(l.accepted.Load()); res.StoredJobs != want {
		return res, fmt.Errorf("the jobs stream holds %d jobs, but %d events were answered accepted", res.StoredJobs, want)
	}
	self := selfCPU() - selfCPU0
	stop()
	if ps := cmd.ProcessState; ps != nil && res.StoredJobs > 0 {
		ingressCPU := ps.UserTime() + ps.SystemTime()
		res.IngressCPUMicrosPerEvent = float64(ingressCPU.Microseconds()) / float64(res.StoredJobs)
		res.AllCPUMicrosPerEvent = float64((ingressCPU + self).Microseconds()) / float64(res.StoredJobs)
		res.IdleMachineEventsPerSec = float64(runtime.NumCPU()) * 1e6 / res.AllCPUMicrosPerEvent
	}
	return res, nil
}

// ingressLoad sends signed deliveries to one ingress.
type ingressLoad struct {
	client      *http.Client
	url         string
	signer      *audit.Signer
	concurrency int
	accepted    atomic.Int64 // every event answered accepted, over all runs
}

// run sends events events, per to a request (one job object, or JSON lines), with webhook-ids
// unique to the run, from l.concurrency goroutines; every answer must be 200 with all accepted.
func (l *ingressLoad) run(ctx context.Context, name string, events, per int) (IngressRun, error) {
	requests := (events + per - 1) / per
	lat := make([]time.Duration, requests)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range l.concurrency {
		wg.Go(func() {
			var body bytes.Buffer
			for ctx.Err() == nil {
				r := int(next.Add(1)) - 1
				if r >= requests {
					return
				}
				n := min(per, events-r*per)
				body.Reset()
				for e := range n {
					fmt.Fprintf(&body, `{"action":"deactivate","user":{"user_name":"leaver-%s-%d-%d@example.com"},"reason":"left the company","ticket":"BENCH-%d"}`+"\n",
						name, r, e, r)
				}
				took, accepted, err := l.post(ctx, fmt.Sprintf("msg_%s_%d", name, r), body.Bytes(), per > 1)
				if err == nil && accepted != n {
					err = fmt.Errorf("request %d: %d of %d events accepted", r, accepted, n)
				}
				if err != nil {
					fail(err)
					cancel()
					return
				}
				l.accepted.Add(int64(accepted))
				lat[r] = took
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		return IngressRun{}, fmt.Errorf("run %s: %w", name, firstErr)
	}
	p := percentiles(lat)
	return IngressRun{Requests: requests, Events: events, Seconds: secs, EventsPerSec: float64(events) / secs,
		P50Ms: p.P50 * 1000, P99Ms: p.P99 * 1000, MaxMs: p.Max * 1000}, nil
}

// post sends one signed delivery and returns its latency and the number of events accepted.
func (l *ingressLoad) post(ctx context.Context, id string, body []byte, lines bool) (time.Duration, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	now := time.Now()
	if lines {
		req.Header.Set("Content-Type", "application/x-ndjson")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(audit.HeaderWebhookID, id)
	req.Header.Set(audit.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(audit.HeaderWebhookSignature, l.signer.Sign(id, now, body))
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(now)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %d %s", id, resp.StatusCode, audit.Clip(string(data), 300))
	}
	// The answer's counts come first: {"accepted":n,...}.
	var a struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return 0, 0, fmt.Errorf("%s: answer: %w", id, err)
	}
	return took, a.Accepted, nil
}

// freeAddr is a free loopback address, for a child process to listen on.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls url until it answers 200, the process exits, or 30 s pass.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.After(30 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the ingress exited before it was ready: %v", err)
		case <-deadline:
			return fmt.Errorf("the ingress was not ready within 30s at %s", url)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func medianOf[T any](runs []T, v func(T) float64) float64 {
	vs := make([]float64, 0, len(runs))
	for _, r := range runs {
		vs = append(vs, v(r))
	}
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}
