package ingress

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// partialSource is a source without AllOrNothing (as Okta's and HR's): its requests carry a
// valid event, an ignored one and a rejected one; it answers a GET handshake.
type partialSource struct{ name string }

func (p partialSource) Authenticate(r *http.Request, _ []byte, _ time.Time) error {
	if r.Header.Get("Authorization") != "let-me-in" {
		return ErrUnauthorized
	}
	return nil
}

func (p partialSource) Decode(_ *http.Request, body []byte, _ time.Time) ([]Event, error) {
	user := strings.TrimSpace(string(body))
	job := &jobs.Job{ID: JobID(p.name, "e1"), Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: user}, RequestedBy: RequestedBy(p.name)}
	bad := &jobs.Job{ID: JobID(p.name, "e3"), Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "no-at-sign"}, RequestedBy: RequestedBy(p.name)}
	return []Event{
		{Ref: "e1", Job: job},
		{Ref: "e2", Ignored: "event type user.session.start maps to no action"},
		{Ref: "e3", Job: bad},
		{Ref: "e4", Err: errors.New("target has no alternateId")},
	}, nil
}

func (p partialSource) Handshake(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("X-Challenge") == "" {
		return false
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"verification": r.Header.Get("X-Challenge")})
	return true
}

// TestPartialPolicyAndHandshake registers a test kind (not parallel: it changes the kinds
// table, and restores it before the parallel tests resume).
func TestPartialPolicyAndHandshake(t *testing.T) {
	saved := kinds
	t.Cleanup(func() { kinds = saved })
	kinds = append(append(kinds[:0:0], kinds...), struct {
		kind Kind
		new  func(cfg SourceConfig, secrets []string) (Source, error)
	}{"partial", func(cfg SourceConfig, _ []string) (Source, error) { return partialSource{cfg.Name}, nil }})

	bed := testbed.New(t, testbed.Config{})
	srv, err := New(Config{Sources: []SourceConfig{{Name: "idp", Kind: "partial", SecretFiles: []string{"x"}}}}, bed.JS, zaptest.NewLogger(t),
		WithSecretReader(func(string) (string, error) { return "unused", nil }))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	do := func(method, body string, h map[string]string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, hs.URL+"/v1/sources/idp", strings.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	user := bed.ActiveUsers(1)[0].UserName
	code, raw := do(http.MethodPost, user, map[string]string{"Authorization": "let-me-in"})
	var a Answer
	_ = json.Unmarshal([]byte(raw), &a)
	if code != 200 || a.Accepted != 1 || a.Ignored != 1 || a.Rejected != 2 || a.Events[3].Reason != "target has no alternateId" {
		t.Fatalf("partial batch: %d %s", code, raw)
	}
	if n := bed.StreamCount(bed.Names.JobsStream()); n != 1 {
		t.Errorf("%d jobs stored, want the valid one", n)
	}
	if ops := bed.OpsEvents("ingress_rejected"); len(ops) != 2 {
		t.Errorf("%d ingress_rejected ops events, want 2: %+v", len(ops), ops)
	}
	if code, raw := do(http.MethodGet, "", map[string]string{"X-Challenge": "abc"}); code != 401 {
		t.Errorf("handshake without credentials: %d %s", code, raw)
	}
	if code, raw := do(http.MethodGet, "", map[string]string{"Authorization": "let-me-in", "X-Challenge": "abc"}); code != 200 || raw != `{"verification":"abc"}`+"\n" {
		t.Errorf("handshake: %d %s", code, raw)
	}
	if code, _ := do(http.MethodGet, "", map[string]string{"Authorization": "let-me-in"}); code != 405 {
		t.Errorf("a GET that is no handshake: %d", code)
	}
}
