package observetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/offboard-dev/genesys-deactivator/internal/relaycmd"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/internal/workercmd"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// grafanaVars are the Grafana interval variables the dashboard may use, replaced by a duration
// before parsing.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// metricNames returns the metric names expr selects, or the parse error.
func metricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				name = m.Value
			}
		}
		names = append(names, name)
		return nil
	})
	return names, nil
}

// Every PromQL expression of the alert rules and the dashboard parses and selects only metrics
// that a running worker, relay and ingress export (a histogram's _bucket, _sum and _count are its
// family's). The worker runs one job (so that labelled vectors appear) with the drift watch on; the
// relay delivers that job's audit event to a receiver; the ingress takes a signed job, refuses an
// unsigned request (401) and rate-limits a signed one past its burst (429).
func TestExpressionsNameOnlyExportedMetrics(t *testing.T) {
	exprs := append(ruleExpressions(t), dashboardExpressions(t)...)
	if len(dashboardExpressions(t)) == 0 {
		t.Fatal("the dashboard has no PromQL expression")
	}
	exported := exportedMetrics(t)
	for _, e := range exprs {
		names, err := metricNames(e.expr)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", e.where, e.expr, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", e.where, e.expr)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s: %q names %s, which no binary (worker, relay, ingress) exports", e.where, e.expr, n)
			}
		}
	}
}

// The check itself: a name no binary exports, or an expression that does not parse, is caught.
func TestMetricNamesCatchesUnknownNamesAndBadSyntax(t *testing.T) {
	names, err := metricNames(`sum by (le) (rate(genesys_job_duration_seconds_bucket[$__rate_interval])) / on() group_left max({__name__="genesys_nope"})`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "genesys_job_duration_seconds_bucket,genesys_nope" {
		t.Errorf("names %q", names)
	}
	if _, err := metricNames(`sum(rate(genesys_jobs_total[5m])`); err == nil {
		t.Error("an unbalanced expression parsed")
	}
}

// exportedMetrics starts a worker, a relay and an ingress on a testbed and returns the names their /metrics
// export: each family's name, and a histogram's or summary's series names.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	bed := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 5, RateLimit: 1_000_000}, NoProvision: true})
	names := jobs.Names{}

	// The worker, with the drift watch, until the job's audit event is stored.
	events, err := bed.NC.SubscribeSync("genesys.audit.user.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	workerAddr := freeAddr(t)
	workerLogs := run(t, "worker", workercmd.Main, []string{"--nats-url", bed.Server.ClientURL(), "--base-url", bed.SimURL,
		"--client-id", "sim-client", "--client-secret", "sim-secret", "--http", workerAddr, "--rate-per-minute", "1000000",
		"--probe-interval", "200ms", "--protect-roles", "", "--drift-watch"})
	workerLogs.waitFor(t, "the worker to start", `"worker started"`)
	pub, err := jobs.NewPublisher(bed.JS, names)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: "observe-1", Action: jobs.ActionDeactivate, Priority: jobs.PriorityUrgent,
		User: jobs.UserRef{ID: bed.ActiveUsers(1)[0].ID}, RequestedBy: "observetest"}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.NextMsg(30 * time.Second); err != nil {
		t.Fatalf("no audit event for the job: %v\n%s", err, workerLogs)
	}

	// The relay, until it acked its first delivery (it counts a delivery, then acks it).
	delivered := make(chan struct{}, 16)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		select {
		case delivered <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(sink.Close)
	dir := t.TempDir()
	secret := filepath.Join(dir, "whsec")
	if err := os.WriteFile(secret, []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "relay.json")
	if err := os.WriteFile(config, fmt.Appendf(nil, `{"endpoints":[{"name":"siem","url":%q,"allow_private":true,"start_at":"all",
	  "subjects":["genesys.audit.>"],"secret_files":[%q]}]}`, sink.URL+"/hook", secret), 0o600); err != nil {
		t.Fatal(err)
	}
	acks, err := bed.NC.SubscribeSync("$JS.ACK.GENESYS_AUDIT_RELAY.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := bed.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	relayAddr := freeAddr(t)
	relayLogs := run(t, "relay", relaycmd.Main, []string{"run", "--config", config, "--nats-url", bed.Server.ClientURL(), "--http", relayAddr})
	select {
	case <-delivered:
	case <-time.After(30 * time.Second):
		t.Fatalf("the relay delivered nothing\n%s", relayLogs)
	}
	for {
		msg, err := acks.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("the relay acked no delivery: %v\n%s", err, relayLogs)
		}
		if strings.HasPrefix(string(msg.Data), "+ACK") {
			break
		}
	}

	// The ingress, after the worker made the jobs stream.
	ingressURL := startIngress(t, bed, bed.ActiveUsers(2)[1].UserName)

	exported := map[string]bool{}
	for _, url := range []string{"http://" + workerAddr + "/metrics", "http://" + relayAddr + "/metrics", ingressURL} {
		for name, f := range scrapeFamilies(t, url) {
			exported[name] = true
			if f == "histogram" || f == "summary" {
				exported[name+"_sum"], exported[name+"_count"] = true, true
			}
			if f == "histogram" {
				exported[name+"_bucket"] = true
			}
		}
	}
	var all []string
	for n := range exported {
		all = append(all, n)
	}
	sort.Strings(all)
	t.Logf("%d names exported", len(all))
	return exported
}

// scrapeFamilies returns url's metric families by name, with their type in lower case.
func scrapeFamilies(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	out := map[string]string{}
	for name, f := range fams {
		out[name] = strings.ToLower(f.GetType().String())
	}
	return out
}

// run runs a command's Main until the test ends, its stderr in the returned log.
func run(t *testing.T, what string, main func(context.Context, []string, io.Writer, io.Writer) int, args []string) *logBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan int, 1)
	go func() { done <- main(ctx, args, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("%s exited %d\n%s", what, code, logs)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", what)
		}
	})
	return logs
}

// logBuffer is a log both the command and the test use; waitFor wakes on each write.
type logBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{}
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func (l *logBuffer) waitFor(t *testing.T, what, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		text := l.b.String()
		if l.written == nil {
			l.written = make(chan struct{})
		}
		written := l.written
		l.mu.Unlock()
		if strings.Contains(text, want) {
			return
		}
		select {
		case <-written:
		case <-timeout:
			t.Fatalf("timed out waiting for %s\n%s", what, text)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
