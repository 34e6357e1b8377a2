package relay

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// lockedBuffer is a bytes.Buffer safe for a handler and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestSinkVerifiesAndReportsGaps(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	sink, err := NewSink([]string{vectorSecret}, &out)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	signer, _ := audit.NewSigner(vectorSecret)
	post := func(seq uint64, sig string) int {
		d, err := prepareDelivery([]byte(`{"id":"e-`+strconv.FormatUint(seq, 10)+`","source":"urn:test","type":"com.offboard-dev.genesys.user.deactivated","subject":"u-1","data":{"message":"done","unmapped":{"outcome":"deactivated"}}}`), seq, "x")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if sig == "" {
			sig = signer.Sign(d.ID, now, d.Body)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(d.Body))
		req.Header.Set(audit.HeaderWebhookID, d.ID)
		req.Header.Set(audit.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(audit.HeaderWebhookSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		seq    uint64
		sig    string
		status int
	}{{1, "", 204}, {2, "", 204}, {5, "", 204}, {3, "", 204}, {6, "v1,AAAA", 401}} {
		if got := post(tt.seq, tt.sig); got != tt.status {
			t.Errorf("seq %d: status %d, want %d", tt.seq, got, tt.status)
		}
	}
	want := []string{
		`seq=1 id=e-1 type=com.offboard-dev.genesys.user.deactivated subject=u-1 outcome=deactivated message="done"`,
		`seq=2 id=e-2 `,
		`seq=5 id=e-5 `,
		`GAP source=urn:test missing sequences 3-4`,
		`REPEAT seq=3 id=e-3 `,
		`REFUSED webhook e-6: audit: no matching webhook signature`,
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if sink.Received() != 4 {
		t.Errorf("Received = %d", sink.Received())
	}
	resp, _ := http.Get(srv.URL)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// The relay delivers into the sink end to end: what `worker --dev` does.
func TestRelayIntoSink(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var out lockedBuffer
	sink, err := NewSink([]string{vectorSecret}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var served changes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sink.ServeHTTP(w, r)
		served.notify()
	}))
	t.Cleanup(srv.Close)
	ep := testEndpoint("dev-sink", srv.URL)
	ep.Subjects = nil // everything, ops events too: no gaps
	env.publish(t, 3, "sink")
	env.run(t, Config{Endpoints: []Endpoint{ep}})
	waitFor(t, 15*time.Second, "3 events printed", &served, func() bool { return sink.Received() == 3 })
	if s := out.String(); strings.Contains(s, "GAP") || strings.Contains(s, "REFUSED") || !strings.Contains(s, "seq=3 ") {
		t.Errorf("sink output:\n%s", s)
	}
}

// Restore reloads a journal silently, skips a torn last line, and refuses a bad line elsewhere.
func TestSinkRestore(t *testing.T) {
	t.Parallel()
	good := `{"id":"e-1","source":"urn:test","type":"t","sequence":1,"outcome":"deactivated","received":"2026-11-27T06:00:00Z"}
{"id":"e-2","source":"urn:test","type":"t","sequence":2,"received":"2026-11-27T06:00:01Z"}
`
	var out lockedBuffer
	sink, err := NewSink([]string{vectorSecret}, &out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sink.Restore(strings.NewReader(good + `{"id":"e-3","sour`))
	if err != nil || n != int64(len(good)) {
		t.Fatalf("torn last line: sound part %d bytes (want %d), %v", n, len(good), err)
	}
	if evs := sink.Events(); len(evs) != 2 || evs[0].ID != "e-1" || evs[1].Sequence != 2 || sink.Received() != 2 || out.String() != "" {
		t.Errorf("restored %+v, printed %q", evs, out.String())
	}
	var journal lockedBuffer
	sink.SetJournal(&journal)
	_ = sink.record(sinkEvent{ID: "e-2", Source: "urn:test", Sequence: "2"}, "")
	_ = sink.record(sinkEvent{ID: "e-3", Source: "urn:test", Sequence: "3"}, "")
	if evs := sink.Events(); len(evs) != 4 || !evs[2].Repeat || evs[3].Repeat {
		t.Errorf("after two deliveries: %+v", evs)
	}
	if lines := strings.Split(strings.TrimSpace(journal.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"repeat":true`) {
		t.Errorf("journal:\n%s", journal.String())
	}
	other, _ := NewSink([]string{vectorSecret}, &out)
	if _, err := other.Restore(strings.NewReader("not json\n" + good)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad first line: %v", err)
	}
	broken, _ := NewSink([]string{vectorSecret}, &out)
	broken.SetJournal(failingWriter{})
	if err := broken.record(sinkEvent{ID: "e-9", Source: "urn:test", Sequence: "9"}, ""); err == nil || broken.Received() != 0 {
		t.Errorf("journal write failed: err %v, %d kept; want an error and nothing kept", err, broken.Received())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
