package relaycmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// sinkRun is one `relay sink` process, run in a goroutine.
type sinkRun struct {
	addr   string
	stdout *syncWriter
	cancel func()
	done   chan int
}

func startSink(t *testing.T, args ...string) *sinkRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &sinkRun{stdout: &syncWriter{w: &bytes.Buffer{}}, cancel: cancel, done: make(chan int, 1)}
	logs := &syncWriter{w: &bytes.Buffer{}}
	go func() {
		s.done <- Main(ctx, append([]string{"sink", "--listen", "127.0.0.1:0", "--log-format", "console"}, args...), s.stdout, logs)
	}()
	logs.waitFor(t, "the sink's address in its log", func(text string) bool {
		m := regexp.MustCompile(`serving the webhook sink\s+\{"addr": "([^"]+)"`).FindStringSubmatch(text)
		if m != nil {
			s.addr = m[1]
		}
		return m != nil
	})
	return s
}

func (s *sinkRun) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	if code := <-s.done; code != 0 {
		t.Errorf("sink exited %d", code)
	}
}

// waitEvents waits until this run of the sink has printed printed events, then checks that it
// holds want in all. (The sink prints an event and keeps it under one lock, which /events takes.)
func (s *sinkRun) waitEvents(t *testing.T, printed, want int) {
	t.Helper()
	s.stdout.waitFor(t, fmt.Sprintf("the sink to print %d events", printed), func(text string) bool {
		return strings.Count(text, "seq=") >= printed
	})
	if n, _ := s.events(t); n != want {
		t.Fatalf("the sink holds %d events, want %d", n, want)
	}
}

func (s *sinkRun) events(t *testing.T) (int, []relay.SinkEvent) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Received int               `json:"received"`
		Events   []relay.SinkEvent `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got.Received, got.Events
}

// relay run delivers into relay sink; the sink keeps the events in its journal across a restart,
// and lists them on /events.
func TestSinkCommandKeepsEventsAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newCmdEnv(t)
	dir := t.TempDir()
	journal := filepath.Join(dir, "events.jsonl")
	whsec := writeFile(t, dir, "whsec", secretA)
	sink := startSink(t, "--secret-file", whsec, "--journal", journal)
	config := writeFile(t, dir, "relay.json", `{"endpoints":[{"name":"sink","url":"http://`+sink.addr+`/hooks/genesys","allow_private":true,
	  "start_at":"all","secret_files":["`+whsec+`"]}]}`)
	ctx, cancel := context.WithCancel(t.Context())
	relayDone := make(chan int, 1)
	go func() {
		relayDone <- Main(ctx, []string{"run", "--config", config, "--nats-url", e.url, "--http", "", "--log-format", "console"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		<-relayDone
	}()

	e.publish(t, 3, "before")
	sink.waitEvents(t, 3, 3)
	sink.stop(t)
	if lines := strings.Count(readFile(t, journal), "\n"); lines != 3 {
		t.Fatalf("journal has %d lines, want 3", lines)
	}

	// The sink died while writing a fourth line: the fragment is dropped, not glued to the next.
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"id":"torn","sou`)
	f.Close()
	sink = startSink(t, "--secret-file", whsec, "--journal", journal, "--listen", sink.addr)
	if n, _ := sink.events(t); n != 3 {
		t.Errorf("after the restart the sink holds %d events, want the 3 of its journal", n)
	}
	e.publish(t, 2, "after")
	sink.waitEvents(t, 2, 5)
	_, evs := sink.events(t)
	for i, ev := range evs {
		if ev.Sequence != uint64(i+1) || ev.Repeat || ev.Outcome != string(audit.OutcomeDeactivated) {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if out := sink.stdout.String(); strings.Contains(out, "GAP") || strings.Contains(out, "REFUSED") || strings.Count(out, "seq=") != 2 {
		t.Errorf("the restarted sink printed:\n%s", out)
	}
	sink.stop(t)
	sink = startSink(t, "--secret-file", whsec, "--journal", journal, "--listen", sink.addr)
	defer sink.stop(t)
	if n, _ := sink.events(t); n != 5 {
		t.Errorf("after a second restart the sink holds %d events, want 5", n)
	}
}

func TestSinkCommandNeedsASecret(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"sink"}, {"sink", "--secret-file", "/nonexistent/whsec"}, {"sink", "--secrets-env", "GENESYS_TEST_UNSET_VARIABLE"}} {
		var errOut bytes.Buffer
		if code := Main(t.Context(), args, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "relay sink: ") {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSinkFlagsHaveUsageAndEnv(t *testing.T) {
	t.Parallel()
	newSinkFlags(&sinkConfig{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "(env GENESYS_") {
			t.Errorf("relay sink --%s: usage %q names no environment variable", f.Name, f.Usage)
		}
	})
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"sink", "--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "Usage: relay sink") {
		t.Errorf("relay sink --help: exit %d\n%s", code, out.String())
	}
}

// A relay started before the workers have created the audit stream waits for it, then delivers.
func TestRunWaitsForTheAuditStream(t *testing.T) {
	t.Parallel()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	whsec := writeFile(t, dir, "whsec", secretA)
	sink := startSink(t, "--secret-file", whsec)
	defer sink.stop(t)
	config := writeFile(t, dir, "relay.json", `{"endpoints":[{"name":"sink","url":"http://`+sink.addr+`/","allow_private":true,
	  "start_at":"all","secret_files":["`+whsec+`"]}]}`)
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncWriter{w: &bytes.Buffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--config", config, "--nats-url", srv.ClientURL(), "--http", "", "--log-format", "console"}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("relay run exited %d\n%s", code, logs.String())
		}
	}()
	logs.waitFor(t, "the relay to say it waits", func(text string) bool { return strings.Contains(text, "waiting for the audit stream") })
	if err := jobs.Provision(t.Context(), js, jobs.TopologyConfig{}); err != nil {
		t.Fatal(err)
	}
	pub, err := audit.NewPublisher(js, audit.PublisherConfig{Stream: "GENESYS_AUDIT"})
	if err != nil {
		t.Fatal(err)
	}
	e := &cmdEnv{pub: pub}
	e.publish(t, 2, "late")
	sink.waitEvents(t, 2, 2)
}
