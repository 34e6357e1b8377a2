package genesys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/oauth2"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

const (
	testClientID = "test-client"
	testSecret   = "test-secret"
	testUserID   = "6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11"
)

// fakeLogin is the login host of a test server: it issues tok-1, tok-2, ...
type fakeLogin struct {
	grants    atomic.Int32
	expiresIn atomic.Int32

	mu       sync.Mutex
	status   int    // when set, every grant answers with it and body
	body     string //
	failNext int    // grants to answer with 503 before healing
	forms    []string
	basics   []string
}

func (f *fakeLogin) refuse(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm.Encode())
	f.basics = append(f.basics, r.Header.Get("Authorization"))
	status, body := f.status, f.body
	if f.failNext > 0 {
		f.failNext--
		status, body = http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	n := f.grants.Add(1)
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d}`, n, f.expiresIn.Load())
}

// testBundle is what setup returns besides the client.
type testBundle struct {
	mux    *http.ServeMux
	login  *fakeLogin
	server *httptest.Server
	lim    *recordingLimiter
}

// setup starts an httptest server playing both Genesys hosts and returns a
// client for it with fast retries, as go-github's setup does.
func setup(t *testing.T, opts ...Option) (*Client, *testBundle) {
	t.Helper()
	b := &testBundle{mux: http.NewServeMux(), login: &fakeLogin{}, lim: &recordingLimiter{}}
	b.login.expiresIn.Store(86399)
	root := http.NewServeMux()
	root.Handle("POST /oauth/token", b.login)
	root.Handle("/api/", b.mux)
	b.server = httptest.NewServer(root)
	t.Cleanup(b.server.Close)
	opts = append([]Option{WithCredentials(testClientID, testSecret), WithLimiter(b.lim)}, opts...)
	c, err := NewClient(b.server.URL, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(5 * time.Millisecond) }
	return c, b
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

// recordingLimiter lets every request through and records what it saw.
type recordingLimiter struct {
	mu    sync.Mutex
	waits []priority.Priority
	obs   []Observation
}

func (l *recordingLimiter) Wait(ctx context.Context, p priority.Priority) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits = append(l.waits, p)
	return ctx.Err()
}

func (l *recordingLimiter) Observe(o Observation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.obs = append(l.obs, o)
}

func (l *recordingLimiter) observations() []Observation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Observation(nil), l.obs...)
}

func userJSON(active bool, version string) string {
	return fmt.Sprintf(`{"id":%q,"userName":"jane.doe@example.com","active":%t,"roles":[{"value":"Agent"}],"meta":{"version":%q}}`, testUserID, active, version)
}

func TestTokenGrantSendsBasicAuthAndIsCached(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var seenAuth []string
	var mu sync.Mutex
	b.mux.HandleFunc("/api/v2/tokens/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenAuth = append(seenAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	for range 3 {
		if _, err := c.Tokens.RevokeAll(t.Context(), testUserID); err != nil {
			t.Fatalf("RevokeAll: %v", err)
		}
	}
	if got := b.login.grants.Load(); got != 1 {
		t.Errorf("grants = %d, want 1 (token cached)", got)
	}
	b.login.mu.Lock()
	defer b.login.mu.Unlock()
	if len(b.login.forms) != 1 || b.login.forms[0] != "grant_type=client_credentials" {
		t.Errorf("forms = %q, want one grant_type=client_credentials (credentials in the header)", b.login.forms)
	}
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))
	if len(b.login.basics) != 1 || b.login.basics[0] != wantBasic {
		t.Errorf("token Authorization = %q, want %q", b.login.basics, wantBasic)
	}
	for _, a := range seenAuth {
		if a != "Bearer tok-1" {
			t.Errorf("API Authorization = %q, want Bearer tok-1", a)
		}
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.login.expiresIn.Store(3600)
	var tokens []string
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		tokens = append(tokens, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	})
	now := time.Now()
	c.auth.nowFunc = func() time.Time { return now }
	revoke := func() {
		t.Helper()
		if _, err := c.Tokens.RevokeAll(t.Context(), testUserID); err != nil {
			t.Fatal(err)
		}
	}
	revoke()
	now = now.Add(3600*time.Second - 61*time.Second) // still fresh
	revoke()
	now = now.Add(2 * time.Second) // inside the 60 s renewal margin
	revoke()
	want := []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}
	if fmt.Sprint(tokens) != fmt.Sprint(want) {
		t.Errorf("tokens used = %v, want %v", tokens, want)
	}
}

func TestShortLivedTokenRenewedHalfway(t *testing.T) {
	t.Parallel()
	ts := newTokenSource("id", "secret", "http://127.0.0.1/oauth/token", http.DefaultClient, time.Minute)
	now := time.Now()
	ts.nowFunc = func() time.Time { return now }
	ts.tok = tokenWithExpiry("a", now.Add(100*time.Second))
	ts.grantedAt = now
	now = now.Add(49 * time.Second)
	if !ts.fresh() {
		t.Error("token of 100 s is stale after 49 s, want fresh")
	}
	now = now.Add(2 * time.Second)
	if ts.fresh() {
		t.Error("token of 100 s is fresh after 51 s, want renewed halfway")
	}
}

func TestUnauthorizedRetriesOnceWithFreshToken(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var calls atomic.Int32
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				t.Errorf("first call with %q", r.Header.Get("Authorization"))
			}
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"status":401,"code":"credentials.expired","message":"Credentials expired"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			t.Errorf("retry with %q, want a fresh token", r.Header.Get("Authorization"))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	resp, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if err != nil {
		t.Fatalf("RevokeAll: %v", err)
	}
	if resp.Attempts != 2 || calls.Load() != 2 || b.login.grants.Load() != 2 {
		t.Errorf("attempts=%d calls=%d grants=%d, want 2 2 2", resp.Attempts, calls.Load(), b.login.grants.Load())
	}
}

func TestUnauthorizedTwiceIsReturned(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var calls atomic.Int32
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"status":401,"code":"bad.credentials","message":"Invalid login credentials."}`)
	})
	_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if calls.Load() != 2 || b.login.grants.Load() != 2 {
		t.Errorf("calls=%d grants=%d, want exactly one retry after the 401 (2, 2)", calls.Load(), b.login.grants.Load())
	}
}

func TestTokenGrantRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"unknown client", 400, `{"error":"invalid_client","description":"client not found","error_description":"client not found"}`},
		{"wrong secret", 401, `{"error":"invalid_client","description":"authentication failed","error_description":"authentication failed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var calls atomic.Int32
			b.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
			b.login.refuse(tt.status, tt.body)
			_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
			if !errors.Is(err, ErrCredentials) || errors.Is(err, ErrTransient) {
				t.Fatalf("err = %v, want ErrCredentials and not transient", err)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.StatusCode != tt.status || te.Code != "invalid_client" {
				t.Errorf("TokenError = %+v, want status %d code invalid_client", te, tt.status)
			}
			if calls.Load() != 0 {
				t.Errorf("%d API calls without a token", calls.Load())
			}
		})
	}
}

func TestTokenGrantTransientIsRetried(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	b.login.mu.Lock()
	b.login.failNext = 2
	b.login.mu.Unlock()
	if _, err := c.Tokens.RevokeAll(t.Context(), testUserID); err != nil {
		t.Fatalf("RevokeAll: %v", err)
	}
	b.login.mu.Lock()
	defer b.login.mu.Unlock()
	if len(b.login.forms) != 3 || b.login.grants.Load() != 1 {
		t.Errorf("grant requests=%d grants=%d, want 3 requests (two 503s retried) and 1 grant", len(b.login.forms), b.login.grants.Load())
	}
}

func tokenWithExpiry(access string, exp time.Time) *oauth2.Token {
	return &oauth2.Token{AccessToken: access, Expiry: exp}
}
