package ingress_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// fixture is a test bed (NATS, simulator), an ingress with one webhook source "soar" serving on
// loopback, and its secret.
type fixture struct {
	bed    *testbed.T
	srv    *ingress.Server
	url    string
	reg    *prometheus.Registry
	signer *audit.Signer
}

func newSecret(t testing.TB) string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return audit.SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

func setup(t *testing.T, bedCfg testbed.Config, js func(*testbed.T) jetstream.JetStream, edit func(*ingress.SourceConfig), opts ...ingress.Option) *fixture {
	t.Helper()
	bed := testbed.New(t, bedCfg)
	secret := newSecret(t)
	sc := ingress.SourceConfig{Name: "soar", Kind: ingress.KindWebhook, SecretFiles: []string{"/secrets/soar"}}
	if edit != nil {
		edit(&sc)
	}
	reg := prometheus.NewRegistry()
	j := bed.JS
	if js != nil {
		j = js(bed)
	}
	opts = append([]ingress.Option{ingress.WithRegisterer(reg), ingress.WithSecretReader(func(path string) (string, error) {
		if path != "/secrets/soar" {
			return "", fmt.Errorf("secret file %s: not found", path)
		}
		return secret, nil
	})}, opts...)
	srv, err := ingress.New(ingress.Config{Sources: []ingress.SourceConfig{sc}}, j, zaptest.NewLogger(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	signer, err := audit.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{bed: bed, srv: srv, url: hs.URL, reg: reg, signer: signer}
}

type reply struct {
	code   int
	header http.Header
	raw    string
	ingress.Answer
}

// post sends body to source, signed as delivery id at ts (no signature when id is "").
func (f *fixture) post(t *testing.T, source, id string, ts time.Time, contentType, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/v1/sources/"+source, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if id != "" {
		req.Header.Set(audit.HeaderWebhookID, id)
		req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(ts.Unix()))
		req.Header.Set(audit.HeaderWebhookSignature, f.signer.Sign(id, ts, []byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.Answer); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", resp.StatusCode, err, raw)
	}
	return r
}

func jobLine(user string, extra string) string {
	return `{"action":"deactivate","user":{"user_name":"` + user + `"},"reason":"left the company","ticket":"SOAR-7"` + extra + `}`
}

func TestSignedJobIsDeactivatedAndNamesTheSource(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, nil)
	user := f.bed.ActiveUsers(1)[0]
	r := f.post(t, "soar", "msg_1", time.Now(), "application/json", jobLine(user.UserName, `,"requested_by":"playbook-42"`))
	wantID := ingress.JobID("soar", "msg_1#1")
	if r.code != http.StatusOK || r.Accepted != 1 || len(r.Events) != 1 || r.Events[0].ID != wantID || r.Events[0].Result != ingress.ResultAccepted || r.Events[0].Ref != "msg_1#1" {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	f.bed.Worker(testbed.WorkerConfig{})
	st := f.bed.WaitDone(wantID)[wantID]
	if st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s, want deactivated", st.Outcome)
	}
	var found bool
	for _, m := range f.bed.StreamMsgs(f.bed.Names.AuditStream()) {
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if json.Unmarshal(m.Data, &ev) != nil || ev.Data.Unmapped.JobID != wantID {
			continue
		}
		found = true
		if ev.Data.Actor.User == nil || ev.Data.Actor.User.Name != "ingress:soar for playbook-42" {
			t.Errorf("audit actor %+v, want ingress:soar for playbook-42", ev.Data.Actor.User)
		}
		if ev.Data.Unmapped.Ticket != "SOAR-7" {
			t.Errorf("ticket %q", ev.Data.Unmapped.Ticket)
		}
	}
	if !found {
		t.Fatal("no audit event for the job")
	}
	if got := (f.metric(t, "genesys_ingress_events_total", "source", "soar", "result", "accepted")); got != 1 {
		t.Errorf("events_total accepted = %v", got)
	}
}

// metric reads one sample of the fixture's registry.
func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				ok := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						ok = true
					}
				}
				if !ok {
					continue next
				}
			}
			v := 0.0
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			}
			return v
		}
	}
	return 0
}

func TestJSONLinesBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, func(sc *ingress.SourceConfig) { sc.Priority = jobs.PriorityUrgent })
	users := f.bed.ActiveUsers(3)
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := jobLine(users[0].UserName, "") + "\n\n" + jobLine(users[1].UserName, `,"priority":"normal"`) + "\r\n" +
		jobLine(users[2].UserName, `,"not_before":"`+later+`"`) + "\n"
	r := f.post(t, "soar", "batch_1", time.Now(), "application/x-ndjson", body)
	if r.code != http.StatusOK || r.Accepted != 2 || r.Scheduled != 1 || r.Rejected != 0 {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	for i, line := range []int{1, 3, 4} {
		ref := fmt.Sprintf("batch_1#%d", line)
		if r.Events[i].Ref != ref || r.Events[i].ID != ingress.JobID("soar", ref) {
			t.Errorf("event %d: %+v, want ref %s", i, r.Events[i], ref)
		}
	}
	if r.Events[2].Result != ingress.ResultScheduled {
		t.Errorf("the not_before job: %+v", r.Events[2])
	}
	// the source's priority applies unless the line sets one
	msgs := f.bed.StreamMsgs(f.bed.Names.JobsStream())
	lanes := map[string]string{}
	for _, m := range msgs {
		j, err := jobs.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		lanes[j.ID] = string(j.Priority)
		if j.RequestedBy != "ingress:soar" {
			t.Errorf("requested_by %q", j.RequestedBy)
		}
	}
	if lanes[r.Events[0].ID] != "urgent" || lanes[r.Events[1].ID] != "normal" {
		t.Errorf("priorities %v", lanes)
	}
}

func TestReplayedDeliveryIsADuplicate(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, nil)
	user := f.bed.ActiveUsers(1)[0]
	body := jobLine(user.UserName, "")
	ts := time.Now()
	first := f.post(t, "soar", "msg_replay", ts, "", body)
	again := f.post(t, "soar", "msg_replay", ts, "", body)                  // the same request, replayed
	retry := f.post(t, "soar", "msg_replay", ts.Add(time.Second), "", body) // the sender's retry, re-signed
	if first.code != 200 || first.Accepted != 1 {
		t.Fatalf("first: %d %s", first.code, first.raw)
	}
	for _, r := range []reply{again, retry} {
		if r.code != 200 || r.Duplicates != 1 || r.Events[0].Result != ingress.ResultDuplicate || r.Events[0].ID != first.Events[0].ID {
			t.Fatalf("replay: %d %s", r.code, r.raw)
		}
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 1 {
		t.Fatalf("jobs stream holds %d jobs, want 1", n)
	}
}

func TestBadRequestsPublishNothing(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, func(sc *ingress.SourceConfig) { sc.MaxBodyBytes = 4096; sc.MaxEvents = 3 })
	good := jobLine("ada@example.com", "")
	now := time.Now()
	for _, tc := range []struct {
		name       string
		source, id string
		ts         time.Time
		ct, body   string
		sign       func(*http.Request)
		code       int
		reason     string
	}{
		{name: "unsigned", source: "soar", body: good, code: 401, reason: "unauthorized"},
		{name: "wrong signature", source: "soar", id: "w1", ts: now, body: good, code: 401, reason: "unauthorized",
			sign: func(r *http.Request) {
				r.Header.Set(audit.HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
			}},
		{name: "stale timestamp", source: "soar", id: "w2", ts: now.Add(-6 * time.Minute), body: good, code: 401, reason: "unauthorized"},
		{name: "future timestamp", source: "soar", id: "w3", ts: now.Add(6 * time.Minute), body: good, code: 401, reason: "unauthorized"},
		{name: "oversized body", source: "soar", id: "w4", ts: now, body: jobLine("ada@example.com", `,"reason":"`+strings.Repeat("x", 5000)+`"`), code: 413, reason: "body larger than 4096 bytes"},
		{name: "malformed JSON", source: "soar", id: "w5", ts: now, body: `{"action":"deactivate",`, code: 400, reason: "event w5#1 rejected: jobs: malformed JSON"},
		{name: "empty body", source: "soar", id: "w6", ts: now, body: "\n\n", code: 400, reason: "no job in the body"},
		{name: "unknown source", source: "nope", id: "w7", ts: now, body: good, code: 404, reason: "unknown source"},
		{name: "identifier fails validation", source: "soar", id: "w8", ts: now, body: jobLine("not-an-email", ""), code: 400, reason: "event w8#1 rejected: "},
		{name: "one bad line of a batch", source: "soar", id: "w9", ts: now, ct: "application/x-ndjson",
			body: good + "\n" + `{"action":"deactivate","user":{"id":"../tokens/me"}}` + "\n", code: 400, reason: "event w9#2 rejected: "},
		{name: "unknown member", source: "soar", id: "w10", ts: now, body: jobLine("ada@example.com", `,"colour":"red"`), code: 400, reason: "unknown member"},
		{name: "too many events", source: "soar", id: "w11", ts: now, ct: "application/x-ndjson", body: strings.Repeat(good+"\n", 4), code: 413, reason: "4 events, limit 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/v1/sources/"+tc.source, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", cmpOr(tc.ct, "application/json"))
			if tc.id != "" {
				req.Header.Set(audit.HeaderWebhookID, tc.id)
				req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(tc.ts.Unix()))
				req.Header.Set(audit.HeaderWebhookSignature, f.signer.Sign(tc.id, tc.ts, []byte(tc.body)))
			}
			if tc.sign != nil {
				tc.sign(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(raw), tc.reason) {
				t.Errorf("%d %s, want %d containing %q", resp.StatusCode, raw, tc.code, tc.reason)
			}
			if tc.code == 401 && string(raw) != `{"error":"unauthorized"}`+"\n" {
				t.Errorf("a 401 says more than unauthorized: %s", raw)
			}
		})
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 0 {
		t.Fatalf("jobs stream holds %d jobs, want none", n)
	}
	if got := (f.metric(t, "genesys_ingress_auth_failures_total", "source", "soar")); got != 4 {
		t.Errorf("auth failures %v, want 4", got)
	}
	// every rejected event of an authenticated request is an ops event, without the body
	ops := f.bed.OpsEvents("ingress_rejected")
	refs := map[string]string{}
	for _, o := range ops {
		if o.Fields["source"] != "soar" {
			t.Errorf("ops event of source %q", o.Fields["source"])
		}
		refs[o.Fields["ref"]] = o.Fields["reason"]
	}
	for _, ref := range []string{"w5#1", "w8#1", "w9#2", "w10#1", "request"} {
		if refs[ref] == "" {
			t.Errorf("no ingress_rejected ops event for %s; have %v", ref, refs)
		}
	}
	if _, ok := refs["w9#1"]; ok {
		t.Errorf("the good line of a rejected batch was recorded as rejected")
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestRateLimitAnswers429(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, func(sc *ingress.SourceConfig) { sc.RatePerSecond = 0.01; sc.Burst = 1 })
	user := f.bed.ActiveUsers(2)
	if r := f.post(t, "soar", "r1", time.Now(), "", jobLine(user[0].UserName, "")); r.code != 200 {
		t.Fatalf("first: %d %s", r.code, r.raw)
	}
	r := f.post(t, "soar", "r2", time.Now(), "", jobLine(user[1].UserName, ""))
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") == "0" {
		t.Fatalf("second: %d Retry-After %q %s", r.code, r.header.Get("Retry-After"), r.raw)
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 1 {
		t.Fatalf("jobs stream holds %d jobs, want 1", n)
	}
	if got := (f.metric(t, "genesys_ingress_rate_limited_total", "source", "soar")); got != 1 {
		t.Errorf("rate limited %v", got)
	}
}

func TestMethodsOtherThanPOST(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, nil)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/v1/sources/soar", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" { // no handshake: nothing to authenticate
		t.Errorf("unsigned GET: %d", resp.StatusCode)
	}
	now := time.Now()
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPut, f.url+"/v1/sources/soar", nil)
	req.Header.Set(audit.HeaderWebhookID, "m1")
	req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(audit.HeaderWebhookSignature, f.signer.Sign("m1", now, nil))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("signed PUT: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestNATSDownAnswers503 posts deliveries from several senders while NATS goes down and comes
// back: a down NATS answers 503 with Retry-After, and every job answered 2xx is in the stream.
func TestNATSDownAnswers503(t *testing.T) {
	t.Parallel()
	var ingressNC *nats.Conn
	f := setup(t, testbed.Config{FileStorage: true}, func(b *testbed.T) jetstream.JetStream {
		nc, err := nats.Connect(b.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		ingressNC = nc
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}, func(sc *ingress.SourceConfig) { sc.RatePerSecond, sc.Burst = 1e6, 1e6 }, ingress.WithPublishTimeout(500*time.Millisecond))
	users := f.bed.ActiveUsers(60)
	type result struct {
		id   string
		code int
		ans  ingress.Answer
	}
	results := make(chan result, 1000)
	stop := make(chan struct{})
	done := make(chan struct{})
	const senders = 4
	for s := range senders {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("s%d-%d", s, i)
				body := jobLine(users[(s*15+i)%len(users)].UserName, "")
				req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/sources/soar", strings.NewReader(body))
				now := time.Now()
				req.Header.Set(audit.HeaderWebhookID, id)
				req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
				req.Header.Set(audit.HeaderWebhookSignature, f.signer.Sign(id, now, []byte(body)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				var a ingress.Answer
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				results <- result{id: id, code: resp.StatusCode, ans: a}
			}
		}()
	}
	var all []result
	take := func(stage string, cond func(result) bool) {
		t.Helper()
		t.Logf("waiting: %s", stage)
		timeout := time.After(testbed.Timeout)
		for {
			select {
			case r := <-results:
				all = append(all, r)
				if cond(r) {
					return
				}
			case <-timeout:
				t.Fatalf("gave up waiting for answers: %s; %d answers", stage, len(all))
			}
		}
	}
	ok := 0
	take("20 stored", func(r result) bool {
		if r.code == 200 {
			ok++
		}
		return ok >= 20
	})
	reconnected := ingressNC.StatusChanged(nats.CONNECTED)
	f.bed.Server.Shutdown()
	f.bed.Server.WaitForShutdown()
	take("a 503", func(r result) bool { return r.code == http.StatusServiceUnavailable })
	down := f.post(t, "soar", "down-1", time.Now(), "", jobLine(users[59].UserName, ""))
	if down.code != http.StatusServiceUnavailable || down.header.Get("Retry-After") == "" || down.Failed != 1 || !strings.Contains(down.Error, "not stored") {
		t.Fatalf("with NATS down: %d %s", down.code, down.raw)
	}
	f.bed.RestartNATS()
	<-reconnected
	ok = 0
	take("10 stored after the restart", func(r result) bool {
		if r.code == 200 {
			ok++
		}
		return ok >= 10
	})
	close(stop)
	for range senders {
		<-done
	}
	close(results)
	for r := range results {
		all = append(all, r)
	}
	stored := map[string]int{}
	for _, m := range f.bed.StreamMsgs(f.bed.Names.JobsStream()) {
		stored[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	codes := map[int]int{}
	for _, r := range all {
		codes[r.code]++
		if r.code == 200 {
			for _, e := range r.ans.Events {
				if stored[e.ID] != 1 {
					t.Errorf("delivery %s answered 200 (%s) but its job %s is stored %d times", r.id, e.Result, e.ID, stored[e.ID])
				}
			}
		} else if r.code != http.StatusServiceUnavailable || r.ans.Failed == 0 {
			t.Errorf("delivery %s answered %d", r.id, r.code)
		}
	}
	t.Logf("answers by status: %v; jobs stored: %d", codes, len(stored))
	// the sender's retry of the 503'd delivery is stored once (or answers duplicate if it was)
	again := f.post(t, "soar", "down-1", time.Now(), "", jobLine(users[59].UserName, ""))
	if again.code != 200 || again.Accepted+again.Duplicates != 1 {
		t.Fatalf("retry after NATS came back: %d %s", again.code, again.raw)
	}
}

// BenchmarkSignedWebhook posts signed deliveries of 1 or 20 jobs (JSON lines) from parallel senders to one ingress
// over loopback HTTP, JetStream on disk storing each before the answer. It reports accepted
// events per second and the p99 latency of a request.
func BenchmarkSignedWebhook(b *testing.B) {
	for _, lines := range []int{1, 20} {
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) { benchSignedWebhook(b, lines) })
	}
}

func benchSignedWebhook(b *testing.B, lines int) {
	bed := testbed.New(b, testbed.Config{FileStorage: true})
	secret := newSecret(b)
	srv, err := ingress.New(ingress.Config{Sources: []ingress.SourceConfig{{Name: "soar", Kind: ingress.KindWebhook, SecretFiles: []string{"s"},
		RatePerSecond: 1e9, Burst: 1 << 30}}}, bed.JS, nil, ingress.WithSecretReader(func(string) (string, error) { return secret, nil }))
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	signer, _ := audit.NewSigner(secret)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var seq atomic.Int64
	lat := make(chan time.Duration, 1<<20)
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			id := fmt.Sprintf("bench-%d", n)
			var sb strings.Builder
			for l := range lines {
				fmt.Fprintf(&sb, `{"action":"deactivate","user":{"user_name":"u%d-%d@example.com"}}`+"\n", n, l)
			}
			body := sb.String()
			req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/sources/soar", strings.NewReader(body))
			now := time.Now()
			req.Header.Set(audit.HeaderWebhookID, id)
			req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
			req.Header.Set(audit.HeaderWebhookSignature, signer.Sign(id, now, []byte(body)))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			select {
			case lat <- time.Since(now):
			default:
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	close(lat)
	var all []time.Duration
	for d := range lat {
		all = append(all, d)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all)*lines)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// TestUnauthenticatedFloodSpendsNoRateLimit: requests without a valid signature are 401 and do
// not spend the source's rate limit, so someone who knows the URL cannot have the real sender's
// deliveries refused with 429.
func TestUnauthenticatedFloodSpendsNoRateLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, func(sc *ingress.SourceConfig) { sc.RatePerSecond = 0.01; sc.Burst = 1 })
	user := f.bed.ActiveUsers(1)[0]
	for i := range 5 {
		if r := f.post(t, "soar", "", time.Now(), "", jobLine(user.UserName, "")); r.code != http.StatusUnauthorized {
			t.Fatalf("unsigned request %d: %d %s", i, r.code, r.raw)
		}
	}
	if r := f.post(t, "soar", "real-1", time.Now(), "", jobLine(user.UserName, "")); r.code != 200 || r.Accepted != 1 {
		t.Fatalf("the real sender after a flood of unsigned requests: %d %s", r.code, r.raw)
	}
	if got := f.metric(t, "genesys_ingress_rate_limited_total", "source", "soar"); got != 0 {
		t.Errorf("rate limited %v, want 0", got)
	}
}

// TestUnauthenticatedLogLineIsQuoted: the log line of a 401 carries the reason, which names the
// webhook-id an unauthenticated stranger chose: a bidi override in it is quoted, not logged as is.
func TestUnauthenticatedLogLineIsQuoted(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, testbed.Config{})
	core, logs := observer.New(zap.WarnLevel)
	srv, err := ingress.New(ingress.Config{Sources: []ingress.SourceConfig{{Name: "soar", Kind: ingress.KindWebhook, SecretFiles: []string{"s"}}}},
		bed.JS, zap.New(core), ingress.WithSecretReader(func(string) (string, error) { return newSecret(t), nil }))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+"/v1/sources/soar", strings.NewReader("{}"))
	req.Header.Set(audit.HeaderWebhookID, "admin\u202Enigol")
	req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(time.Now().Unix()))
	req.Header.Set(audit.HeaderWebhookSignature, "v1,AAAA")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	entries := logs.FilterMessage("ingress request not authenticated").All()
	if resp.StatusCode != http.StatusUnauthorized || len(entries) != 1 {
		t.Fatalf("%d, %d log lines", resp.StatusCode, len(entries))
	}
	if reason := entries[0].ContextMap()["reason"].(string); strings.ContainsRune(reason, '\u202E') || !strings.Contains(reason, `\u202e`) {
		t.Errorf("reason %q", reason)
	}
}

// TestSourcesMustNotShareASecret: two sources with the same secret would let the sender of one
// post as the other (requested_by naming the wrong source): New refuses it, naming both sources
// and never the secret.
func TestSourcesMustNotShareASecret(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, testbed.Config{})
	secret := newSecret(t)
	_, err := ingress.New(ingress.Config{Sources: []ingress.SourceConfig{
		{Name: "soar", Kind: ingress.KindWebhook, SecretFiles: []string{"/a"}},
		{Name: "jira", Kind: ingress.KindWebhook, SecretFiles: []string{"/b"}},
	}}, bed.JS, nil, ingress.WithSecretReader(func(string) (string, error) { return secret, nil }))
	if err == nil || !strings.Contains(err.Error(), "source jira: secret_files[0] holds the secret of source soar") || strings.Contains(err.Error(), secret) {
		t.Fatalf("New: %v", err)
	}
}

// TestOtherPathsAnswerJSON404: a path that is no source's ("/v1/sources/soar/", "/") is a JSON
// 404 counted under source "unknown", like an unknown name, and publishes nothing.
func TestOtherPathsAnswerJSON404(t *testing.T) {
	t.Parallel()
	f := setup(t, testbed.Config{}, nil, nil)
	for _, path := range []string{"/v1/sources/soar/", "/", "/v1/sources/soar/x", "/v1/sources/SOAR"} {
		resp, err := http.Post(f.url+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" || !json.Valid(raw) {
			t.Errorf("%s: %d %q %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
	}
	if got := f.metric(t, "genesys_ingress_requests_total", "source", "unknown", "code", "404"); got != 4 {
		t.Errorf("requests_total unknown 404 = %v, want 4", got)
	}
}
