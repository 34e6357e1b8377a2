package relaycmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.IgnoreSourceSetup()) }

func TestEveryFlagHasUsage(t *testing.T) {
	t.Parallel()
	sets := map[string]*flag.FlagSet{
		"run":       newRunFlags(&runConfig{}, io.Discard),
		"endpoints": newEndpointsFlags(&adminConfig{}, io.Discard),
		"replay":    newReplayFlags(&replayConfig{}, io.Discard),
	}
	for name, fs := range sets {
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no usage text", name, f.Name)
			}
			if !strings.HasPrefix(f.Name, "nats-") && !strings.Contains(f.Usage, "(env ") {
				t.Errorf("%s --%s does not name its environment variable", name, f.Name)
			}
		})
		if n < 15 {
			t.Errorf("%s has only %d flags", name, n)
		}
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"endpoints", "list", "--help"}, {"replay", "-h"}} {
		var out bytes.Buffer
		if code := Main(t.Context(), args, &out, &out); code != 0 || !strings.Contains(out.String(), "Usage: relay") {
			t.Errorf("%v: exit %d\n%s", args, code, out.String())
		}
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"endpoints":[{"name":"siem","url":"https://siem.example.com/","secret_files":["`+writeFile(t, dir, "whsec", secretA)+`"]}]}`)
	remoteHTTP := writeFile(t, dir, "http.json", `{"endpoints":[{"name":"siem","url":"http://siem.example.com/","secret_files":["`+dir+`/whsec"]}]}`)
	badSecret := writeFile(t, dir, "bad-secret.json", `{"endpoints":[{"name":"siem","url":"https://siem.example.com/","secret_files":["`+writeFile(t, dir, "bad", "whsec_topsecret!!value")+`"]}]}`)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage: relay"},
		{[]string{"fly"}, `unknown command "fly"`},
		{[]string{"run"}, "set --config"},
		{[]string{"run", "--bogus"}, "flag provided but not defined"},
		{[]string{"run", "--config", dir + "/none.json"}, "cannot read"},
		{[]string{"run", "--config", remoteHTTP}, "plain http only to a loopback host"},
		{[]string{"run", "--config", badSecret}, "invalid webhook secret"},
		{[]string{"run", "--config", good, "--log-format", "xml"}, "--log-format"},
		{[]string{"run", "--config", good, "--prefix", "a b"}, "prefix"},
		{[]string{"run", "--config", good, "extra"}, "unexpected arguments"},
		{[]string{"endpoints"}, "Usage: relay endpoints"},
		{[]string{"endpoints", "pause", "siem"}, `unknown verb "pause"`},
		{[]string{"endpoints", "enable"}, "needs an endpoint NAME"},
		{[]string{"endpoints", "list", "x"}, "unexpected arguments"},
		{[]string{"replay", "--config", good, "--endpoint", "siem"}, "set --endpoint and --since"},
		{[]string{"replay", "--config", good, "--endpoint", "siem", "--since", "yesterday"}, "--since"},
		{[]string{"replay", "--config", good, "--endpoint", "siem", "--since", "2h", "--until", "3h"}, "--until must be after --since"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), tt.args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", tt.args, code, errOut.String())
		}
		if !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: stderr %q, want it to mention %q", tt.args, errOut.String(), tt.want)
		}
		if strings.Contains(errOut.String(), "topsecret") || strings.Contains(errOut.String(), "MfKQ9r8G") {
			t.Errorf("%v: stderr carries a secret", tt.args)
		}
	}
}

// cmdEnv is a NATS server provisioned as the worker does, a receiver and a relay.json for it.
type cmdEnv struct {
	url    string
	js     jetstream.JetStream
	pub    *audit.Publisher
	config string
	mu     sync.Mutex
	got    []string      // webhook-sequence of each verified delivery
	more   chan struct{} // closed by the next delivery; nil until someone waits
}

func newCmdEnv(t *testing.T) *cmdEnv {
	t.Helper()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Provision(t.Context(), js, jobs.TopologyConfig{}); err != nil {
		t.Fatal(err)
	}
	pub, err := audit.NewPublisher(js, audit.PublisherConfig{Stream: "GENESYS_AUDIT"})
	if err != nil {
		t.Fatal(err)
	}
	e := &cmdEnv{url: srv.ClientURL(), js: js, pub: pub}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := audit.Verify(secretA, r.Header, body, time.Now(), 0); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		e.mu.Lock()
		e.got = append(e.got, r.Header.Get("webhook-sequence"))
		if e.more != nil {
			close(e.more)
			e.more = nil
		}
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	dir := t.TempDir()
	e.config = writeFile(t, dir, "relay.json", `{"endpoints":[{"name":"siem","url":"`+rc.URL+`/hook","allow_private":true,
	  "start_at":"all","subjects":["genesys.audit.user.>"],"secret_files":["`+writeFile(t, dir, "whsec", secretA+"\n")+`"]}]}`)
	return e
}

func (e *cmdEnv) publish(t *testing.T, n int, tag string) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		ev, err := audit.Origin{}.UserEvent(audit.Record{JobID: fmt.Sprintf("%s-%d", tag, i), Outcome: audit.OutcomeDeactivated, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := e.pub.Publish(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

func (e *cmdEnv) received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func (e *cmdEnv) main(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), append(args, "--nats-url", e.url), &out, &errOut)
	return code, out.String(), errOut.String()
}

// waitReceived waits until the receiver has verified n deliveries, hearing of each as it comes.
func (e *cmdEnv) waitReceived(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		e.mu.Lock()
		got := len(e.got)
		if e.more == nil {
			e.more = make(chan struct{})
		}
		more := e.more
		e.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-timeout:
			t.Fatalf("timed out waiting for %d deliveries; got %d", n, got)
		}
	}
}

// waitTimeout bounds every wait of these tests.
const waitTimeout = 15 * time.Second

// relay run delivers, serves metrics and stops cleanly; endpoints disable, list and enable act on
// the running relay.
func TestRunEndpointsAndMetrics(t *testing.T) {
	t.Parallel()
	e := newCmdEnv(t)
	e.publish(t, 2, "run")
	// The relay counts a delivery in its metrics, then acks it: a copy of each ack tells us.
	acks, err := e.js.Conn().SubscribeSync("$JS.ACK.GENESYS_AUDIT_RELAY.>")
	if err != nil {
		t.Fatal(err)
	}
	defer acks.Unsubscribe()
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncWriter{w: &bytes.Buffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--config", e.config, "--nats-url", e.url, "--http", "127.0.0.1:0", "--log-format", "console"}, io.Discard, logs)
	}()
	var httpAddr string
	logs.waitFor(t, "the metrics address in the log", func(text string) bool {
		m := regexp.MustCompile(`serving /healthz and /metrics\s+\{"addr": "([^"]+)"`).FindStringSubmatch(text)
		if m != nil {
			httpAddr = m[1]
		}
		return m != nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relay logs:\n%s", logs.String())
		}
	})
	e.waitReceived(t, 2)
	for acked := 0; acked < 2; {
		msg, err := acks.NextMsg(waitTimeout)
		if err != nil {
			t.Fatalf("waiting for the relay to ack 2 deliveries (%d so far): %v", acked, err)
		}
		if strings.HasPrefix(string(msg.Data), "+ACK") {
			acked++
		}
	}
	metrics := scrape(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{`audit_relay_deliveries_total{endpoint="siem",status="204"} 2`, `audit_relay_endpoint_enabled{endpoint="siem"} 1`,
		`audit_relay_delivery_seconds_count{endpoint="siem"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if code, out, errOut := e.main(t, "endpoints", "disable", "siem", "--reason", "SIEM maintenance"); code != 0 || !strings.Contains(out, "endpoint siem disabled") {
		t.Fatalf("disable: %d %s %s", code, out, errOut)
	}
	e.publish(t, 1, "while-disabled")
	code, out, _ := e.main(t, "endpoints", "list")
	if code != 0 || !strings.Contains(out, "DISABLED") || !strings.Contains(out, "SIEM maintenance") || !strings.Contains(out, "operator") {
		t.Errorf("list while disabled: %d\n%s", code, out)
	}
	// The relay sets the gauge, then logs that the endpoint is disabled.
	logs.waitFor(t, "the relay to disable the endpoint", func(text string) bool { return strings.Contains(text, "endpoint disabled") })
	if metrics := scrape(t, "http://"+httpAddr+"/metrics"); !strings.Contains(metrics, `audit_relay_endpoint_enabled{endpoint="siem"} 0`) {
		t.Errorf("metrics lack the enabled gauge 0 of a disabled endpoint")
	}
	if code, out, errOut := e.main(t, "endpoints", "enable", "siem"); code != 0 {
		t.Fatalf("enable: %d %s %s", code, out, errOut)
	}
	e.waitReceived(t, 3) // the event held while disabled
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run exited %d\n%s", code, logs.String())
	}
}

// relay replay sends exactly the events stored since --since.
func TestReplayCommand(t *testing.T) {
	t.Parallel()
	e := newCmdEnv(t)
	seqs := e.publish(t, 4, "replay")
	m, err := e.js.Stream(t.Context(), "GENESYS_AUDIT")
	if err != nil {
		t.Fatal(err)
	}
	third, err := m.GetMsg(t.Context(), seqs[2])
	if err != nil {
		t.Fatal(err)
	}
	since := third.Time.UTC().Format(time.RFC3339Nano)
	code, out, errOut := e.main(t, "replay", "--config", e.config, "--endpoint", "siem", "--since", since)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("replayed 2 events (sequences %d–%d) to siem", seqs[2], seqs[3])) {
		t.Fatalf("replay: %d\n%s%s", code, out, errOut)
	}
	if got, want := strings.Join(e.received(), ","), fmt.Sprintf("%d,%d", seqs[2], seqs[3]); got != want {
		t.Errorf("received %s, want %s", got, want)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// syncWriter lets the relay's logger and the test share a buffer.
type syncWriter struct {
	mu      sync.Mutex
	w       io.Writer
	written chan struct{} // closed by the next Write; nil until someone waits
}

// waitFor waits until cond holds of what was written, asking it again after each write.
func (s *syncWriter) waitFor(t *testing.T, what string, cond func(string) bool) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		s.mu.Lock()
		text := fmt.Sprint(s.w)
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		if cond(text) {
			return
		}
		select {
		case <-written:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.w.Write(p)
}

// StartDev relays new audit events into a verifying sink that prints them.
func TestStartDev(t *testing.T) {
	t.Parallel()
	e := newCmdEnv(t)
	var out bytes.Buffer
	w := &syncWriter{w: &out}
	// The consumer starts at new events: wait for the server's advisory that it was created
	// before publishing.
	created, err := e.js.Conn().SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.CREATED.GENESYS_AUDIT_RELAY." + relay.ConsumerName("dev-sink"))
	if err != nil {
		t.Fatal(err)
	}
	defer created.Unsubscribe()
	dev, err := StartDev(t.Context(), DevConfig{JetStream: e.js, Out: w})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := created.NextMsg(waitTimeout); err != nil {
		t.Fatalf("waiting for the dev consumer: %v", err)
	}
	seqs := e.publish(t, 2, "dev")
	w.waitFor(t, "2 printed events", func(text string) bool { return strings.Count(text, "seq=") >= 2 })
	dev.Stop()
	if s := out.String(); strings.Count(s, "seq=") != 2 || !strings.Contains(s, fmt.Sprintf("seq=%d ", seqs[1])) || strings.Contains(s, "REFUSED") {
		t.Errorf("sink output:\n%s", s)
	}
}
