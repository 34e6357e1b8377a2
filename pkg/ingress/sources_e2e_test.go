package ingress_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

const (
	e2eOktaSecret = "okta-e2e-authorization-value"
	e2eHRKey      = "hr-e2e-private-key"
	e2eBobKey     = "hibob-e2e-private-key"
	e2eOktaIDs    = "okta-ids-e2e-authorization-value"
)

// sourcesFixture is a test bed and an ingress serving the Okta and HR sources of testdata on
// loopback: "okta" (defaults: login as user_name), "okta-ids" (the Okta id as external_id),
// "bamboohr" and "hibob" (testdata/hr/*.config.json).
type sourcesFixture struct {
	fixture
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleConfig(t testing.TB, name string) ingress.SourceConfig {
	t.Helper()
	var sc ingress.SourceConfig
	if err := json.Unmarshal(readSample(t, name), &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

func setupSources(t *testing.T) *sourcesFixture {
	t.Helper()
	bed := testbed.New(t, testbed.Config{})
	okta := sampleConfig(t, "okta/okta.config.json")
	oktaIDs := ingress.SourceConfig{Name: "okta-ids", Kind: ingress.KindOkta, SecretFiles: []string{"/run/secrets/okta-ids-auth"},
		Settings: json.RawMessage(`{"user_attribute":"id"}`)}
	cfg := ingress.Config{Sources: []ingress.SourceConfig{okta, oktaIDs,
		sampleConfig(t, "hr/bamboohr.config.json"), sampleConfig(t, "hr/hibob.config.json")}}
	secrets := map[string]string{
		"/run/secrets/okta-event-hook-auth": e2eOktaSecret,
		"/run/secrets/bamboohr-webhook-key": e2eHRKey,
		"/run/secrets/hibob-webhook-secret": e2eBobKey,
		"/run/secrets/okta-ids-auth":        e2eOktaIDs,
	}
	reg := prometheus.NewRegistry()
	srv, err := ingress.New(cfg, bed.JS, zaptest.NewLogger(t), ingress.WithRegisterer(reg),
		ingress.WithSecretReader(func(path string) (string, error) {
			if s, ok := secrets[path]; ok {
				return s, nil
			}
			return "", fmt.Errorf("secret file %s: not found", path)
		}))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &sourcesFixture{fixture{bed: bed, srv: srv, url: hs.URL, reg: reg}}
}

// send sends a request to source with headers and reads the answer.
func (f *sourcesFixture) send(t *testing.T, method, source string, headers map[string]string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+"/v1/sources/"+source, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
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

// auditActor is the actor's name of the audit event of job id.
func (f *sourcesFixture) auditActor(t *testing.T, id string) string {
	t.Helper()
	for _, m := range f.bed.StreamMsgs(f.bed.Names.AuditStream()) {
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if json.Unmarshal(m.Data, &ev) != nil || ev.Data.Unmapped.JobID != id {
			continue
		}
		if ev.Data.Actor.User == nil {
			t.Fatalf("audit event of %s has no actor user", id)
		}
		return ev.Data.Actor.User.Name
	}
	t.Fatalf("no audit event for %s", id)
	return ""
}

// oktaDelivery is Okta's sample delivery carrying Okta's sample deactivation event, edited.
func oktaDelivery(t *testing.T, edit func(e map[string]any)) []byte {
	t.Helper()
	var d, e map[string]any
	if err := json.Unmarshal(readSample(t, "okta/event-hook-delivery.json"), &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readSample(t, "okta/user-lifecycle-deactivate.json"), &e); err != nil {
		t.Fatal(err)
	}
	edit(e)
	d["data"] = map[string]any{"events": []any{e}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func oktaHeaders(secret string) map[string]string {
	return map[string]string{"Authorization": secret, "Content-Type": "application/json"}
}

// TestOktaVerificationThroughTheServer: Okta's one-time GET is answered with the challenge
// after the Authorization header is checked; without it, 401 and no echo.
func TestOktaVerificationThroughTheServer(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/v1/sources/okta", nil)
	req.Header.Set("Authorization", e2eOktaSecret)
	req.Header.Set(ingress.OktaChallengeHeader, "Tk5rRnBuSGxqQ2p3cE1jbg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		strings.TrimSpace(string(raw)) != `{"verification":"Tk5rRnBuSGxqQ2p3cE1jbg"}` {
		t.Fatalf("verification: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	r := f.send(t, http.MethodGet, "okta", map[string]string{"Authorization": "wrong", ingress.OktaChallengeHeader: "x"}, nil)
	if r.code != http.StatusUnauthorized || strings.Contains(r.raw, `"x"`) {
		t.Fatalf("unauthenticated verification: %d %s", r.code, r.raw)
	}
	r = f.send(t, http.MethodGet, "okta", map[string]string{"Authorization": e2eOktaSecret}, nil)
	if r.code != http.StatusMethodNotAllowed {
		t.Fatalf("GET without a challenge: %d %s", r.code, r.raw)
	}
}

// TestOktaDeactivationEndToEnd: Okta's sample deactivation of a Genesys user's login → job →
// deactivated → audit event naming the source; the redelivery is a duplicate; the Okta id as
// external_id works the same; a wrong Authorization publishes nothing.
func TestOktaDeactivationEndToEnd(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	users := f.bed.ActiveUsers(2)
	body := oktaDelivery(t, func(e map[string]any) {
		e["target"].([]any)[0].(map[string]any)["alternateId"] = users[0].UserName
	})
	if r := f.send(t, http.MethodPost, "okta", oktaHeaders("not-the-secret"), body); r.code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %s", r.code, r.raw)
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 0 {
		t.Fatalf("%d jobs after a 401", n)
	}
	r := f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), body)
	const uuid = "ab62c0bc-2837-11eb-9823-9fb8f750c5a9"
	id := ingress.JobID("okta", uuid)
	if r.code != http.StatusOK || r.Accepted != 1 || r.Events[0].ID != id || r.Events[0].Ref != uuid {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	if again := f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), body); again.code != http.StatusOK || again.Duplicates != 1 {
		t.Fatalf("redelivery: %d %s", again.code, again.raw)
	}
	byID := oktaDelivery(t, func(e map[string]any) {
		e["uuid"] = "f1d2-second-event"
		e["target"].([]any)[0].(map[string]any)["id"] = users[1].ExternalID
		e["target"].([]any)[0].(map[string]any)["alternateId"] = "login-not-in-genesys@example.com"
	})
	if r := f.send(t, http.MethodPost, "okta-ids", oktaHeaders(e2eOktaSecret), byID); r.code != http.StatusUnauthorized {
		t.Fatalf("okta's secret at okta-ids: %d %s", r.code, r.raw)
	}
	r2 := f.send(t, http.MethodPost, "okta-ids", oktaHeaders(e2eOktaIDs), byID)
	id2 := ingress.JobID("okta-ids", "f1d2-second-event")
	if r2.code != http.StatusOK || r2.Accepted != 1 || r2.Events[0].ID != id2 {
		t.Fatalf("okta-ids answer %d %s", r2.code, r2.raw)
	}
	// before a worker takes them: two job messages (the redelivery is not a second job)
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 2 {
		t.Errorf("%d job messages, want 2 (the redelivery is not a second job)", n)
	}
	var j jobs.Job
	for _, m := range f.bed.StreamMsgs(f.bed.Names.JobsStream()) {
		if jj, err := jobs.Decode(m.Data); err == nil && jj.ID == id {
			j = jj
		}
	}
	if j.Priority != jobs.PriorityUrgent || j.Ticket != uuid || !strings.Contains(j.Reason, "by okta.trainer@okta.com") {
		t.Errorf("job %+v: want urgent (the sample config), ticket the uuid, the actor in the reason", j)
	}
	f.bed.Worker(testbed.WorkerConfig{})
	st := f.bed.WaitDone(id, id2)
	for _, tc := range []struct{ id, source string }{{id, "okta"}, {id2, "okta-ids"}} {
		if st[tc.id].Outcome != audit.OutcomeDeactivated {
			t.Errorf("%s: outcome %s (%s), want deactivated", tc.source, st[tc.id].Outcome, st[tc.id].Error)
		}
		if actor := f.auditActor(t, tc.id); actor != "ingress:"+tc.source {
			t.Errorf("%s: audit actor %q, want ingress:%s", tc.source, actor, tc.source)
		}
	}
}

// TestOktaUnknownEventTypeIsIgnored: Okta's own sample delivery (a user.session.start) is
// acknowledged and counted, publishing nothing.
func TestOktaUnknownEventTypeIsIgnored(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	r := f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), readSample(t, "okta/event-hook-delivery.json"))
	if r.code != http.StatusOK || r.Ignored != 1 || r.Accepted != 0 || r.Events[0].Result != ingress.ResultIgnored {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 0 {
		t.Fatalf("%d jobs published", n)
	}
	if got := f.metric(t, "genesys_ingress_events_total", "source", "okta", "result", "ignored"); got != 1 {
		t.Fatalf("events_total ignored = %v", got)
	}
	// an event the job rules refuse (a login that is no email) is rejected, the rest published
	users := f.bed.ActiveUsers(1)
	var d map[string]any
	_ = json.Unmarshal(oktaDelivery(t, func(e map[string]any) {
		e["target"].([]any)[0].(map[string]any)["alternateId"] = users[0].UserName
	}), &d)
	bad := oktaDelivery(t, func(e map[string]any) {
		e["uuid"] = "bad-login"
		e["target"].([]any)[0].(map[string]any)["alternateId"] = "jdoe"
	})
	var b map[string]any
	_ = json.Unmarshal(bad, &b)
	events := append(d["data"].(map[string]any)["events"].([]any), b["data"].(map[string]any)["events"].([]any)...)
	d["data"] = map[string]any{"events": events}
	mixed, _ := json.Marshal(d)
	r = f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), mixed)
	if r.code != http.StatusOK || r.Accepted != 1 || r.Rejected != 1 || r.Events[1].Result != ingress.ResultRejected {
		t.Fatalf("mixed answer %d %s", r.code, r.raw)
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 1 {
		t.Fatalf("%d jobs published, want 1", n)
	}
}

// bambooHeaders signs body as BambooHR does at ts.
func bambooHeaders(key string, body []byte, ts time.Time) map[string]string {
	m := hmac.New(sha256.New, []byte(key))
	sts := fmt.Sprint(ts.Unix())
	m.Write(body)
	m.Write([]byte(sts))
	return map[string]string{"X-BambooHR-Signature": hex.EncodeToString(m.Sum(nil)), "X-BambooHR-Timestamp": sts,
		"Content-Type": "application/json"}
}

func bambooTermination(email, lastDay, changedAt string) []byte {
	return []byte(`{"employees":[{"action":"Updated","changedFields":["Employment Status"],"fields":{` +
		`"Employment Status":"Terminated","Employment Status: Date":"` + lastDay + `","Work Email":"` + email + `"},` +
		`"id":"4711","timestamp":"` + changedAt + `"}]}`)
}

// TestBambooHRTerminationEndToEnd: a termination dated in the past runs now (job → deactivated
// → audit event naming the source); one dated in the future is scheduled at 23:59 of that day
// in the configured zone; a bad signature or a stale timestamp publishes nothing; a change that
// is no termination is ignored.
func TestBambooHRTerminationEndToEnd(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	users := f.bed.ActiveUsers(2)
	now := time.Now()
	past := bambooTermination(users[0].UserName, "2026-01-15", "2026-01-15T16:00:00+0000")
	if r := f.send(t, http.MethodPost, "bamboohr", bambooHeaders("wrong-key", past, now), past); r.code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d %s", r.code, r.raw)
	}
	if r := f.send(t, http.MethodPost, "bamboohr", bambooHeaders(e2eHRKey, past, now.Add(-10*time.Minute)), past); r.code != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: %d %s", r.code, r.raw)
	}
	if n := f.bed.StreamCount(f.bed.Names.JobsStream()); n != 0 {
		t.Fatalf("%d jobs after 401s", n)
	}
	r := f.send(t, http.MethodPost, "bamboohr", bambooHeaders(e2eHRKey, past, now), past)
	id := ingress.JobID("bamboohr", "4711/2026-01-15T16:00:00+0000")
	if r.code != http.StatusOK || r.Accepted != 1 || r.Events[0].ID != id {
		t.Fatalf("past termination: %d %s", r.code, r.raw)
	}

	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	lastDay := now.In(denver).AddDate(0, 0, 30)
	future := bambooTermination(users[1].UserName, lastDay.Format("2006-01-02"), now.UTC().Format("2006-01-02T15:04:05+0000"))
	rf := f.send(t, http.MethodPost, "bamboohr", bambooHeaders(e2eHRKey, future, now), future)
	if rf.code != http.StatusOK || rf.Scheduled != 1 || rf.Events[0].Result != ingress.ResultScheduled {
		t.Fatalf("future termination: %d %s", rf.code, rf.raw)
	}
	fid := rf.Events[0].ID
	ignored := readSample(t, "hr/bamboohr.json")
	if ri := f.send(t, http.MethodPost, "bamboohr", bambooHeaders(e2eHRKey, ignored, now), ignored); ri.code != http.StatusOK || ri.Ignored != 1 {
		t.Fatalf("BambooHR's sample (a first name change): %d %s", ri.code, ri.raw)
	}

	f.bed.Worker(testbed.WorkerConfig{})
	st := f.bed.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s (%s), want deactivated", st.Outcome, st.Error)
	}
	if actor := f.auditActor(t, id); actor != "ingress:bamboohr" {
		t.Errorf("audit actor %q", actor)
	}
	want := time.Date(lastDay.Year(), lastDay.Month(), lastDay.Day(), 23, 59, 0, 0, denver)
	f.bed.WaitUntil("the future termination scheduled", func() bool {
		s, err := f.bed.Status.Get(t.Context(), fid)
		return err == nil && s.State == jobs.StateScheduled && s.NotBefore.Equal(want)
	})
	if st := f.bed.CallsByUser()[users[1].ID]; len(st) != 0 {
		t.Errorf("the scheduled leaver was touched: %v", st)
	}
}

// TestHiBobLeaverEndToEnd: HiBob's employee.left, signed with a base64 HMAC-SHA512, names the
// user by external_id and runs now.
func TestHiBobLeaverEndToEnd(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	user := f.bed.ActiveUsers(1)[0]
	var ev map[string]any
	if err := json.Unmarshal(readSample(t, "hr/hibob.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["data"] = map[string]any{"employeeId": user.ExternalID}
	body, _ := json.Marshal(ev)
	m := hmac.New(sha512.New, []byte(e2eBobKey))
	m.Write(body)
	r := f.send(t, http.MethodPost, "hibob", map[string]string{"Bob-Signature": base64.StdEncoding.EncodeToString(m.Sum(nil))}, body)
	if r.code != http.StatusOK || r.Accepted != 1 {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	id := r.Events[0].ID
	f.bed.Worker(testbed.WorkerConfig{})
	if st := f.bed.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s (%s)", st.Outcome, st.Error)
	}
	if actor := f.auditActor(t, id); actor != "ingress:hibob" {
		t.Errorf("audit actor %q", actor)
	}
}

// TestRefsWithInvisibleCharactersAreQuoted: a sender's event id with a bidi override or a
// newline reaches the answer, the log and the ingress_rejected ops event quoted, never as is
// (it would display as another id in a SIEM); a webhook-id with one is refused.
func TestRefsWithInvisibleCharactersAreQuoted(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	bad := oktaDelivery(t, func(e map[string]any) {
		e["uuid"] = "evt-\u202Egnp.exe\nforged"
		e["target"].([]any)[0].(map[string]any)["alternateId"] = "jdoe"
	})
	r := f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), bad)
	if r.code != http.StatusOK || r.Rejected != 1 || strings.ContainsAny(r.Events[0].Ref, "\u202E\n") {
		t.Fatalf("answer %d %s", r.code, r.raw)
	}
	ops := f.bed.OpsEvents("ingress_rejected")
	if len(ops) != 1 || ops[0].Fields["ref"] != `"evt-\u202egnp.exe\nforged"` || strings.ContainsAny(ops[0].Message, "\u202E\n") {
		t.Fatalf("ops events %+v", ops)
	}

	wh := setup(t, testbed.Config{}, nil, nil)
	user := wh.bed.ActiveUsers(1)[0]
	if r := wh.post(t, "soar", "msg-\u202E1", time.Now(), "", jobLine(user.UserName, "")); r.code != http.StatusBadRequest || !strings.Contains(r.Error, "U+202E") {
		t.Fatalf("webhook-id with U+202E: %d %s", r.code, r.raw)
	}
}

// TestOktaAuthenticatesBeforeReadingTheBody: Okta's credentials are a header, so a request
// without them is 401 before its body is read: an oversized body from a stranger is not 413.
func TestOktaAuthenticatesBeforeReadingTheBody(t *testing.T) {
	t.Parallel()
	f := setupSources(t)
	huge := []byte(`{"data":{"events":[` + strings.Repeat(" ", ingress.DefaultMaxBodyBytes+1) + `]}}`)
	if r := f.send(t, http.MethodPost, "okta", oktaHeaders("not-the-secret"), huge); r.code != http.StatusUnauthorized {
		t.Fatalf("a stranger's oversized body: %d %s", r.code, r.raw)
	}
	if r := f.send(t, http.MethodPost, "okta", oktaHeaders(e2eOktaSecret), huge); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("an authenticated oversized body: %d %s", r.code, r.raw)
	}
}
