package genesyssim

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, 10*time.Second)
	steps := []struct {
		at        time.Duration
		key       string
		want      rateDecision
		wantReset int64
	}{
		{0, "a", rateDecision{allowed: true, count: 1, wait: 10 * time.Second}, 10},
		{4 * time.Second, "a", rateDecision{allowed: true, count: 2, wait: 6 * time.Second}, 6},
		{4*time.Second + 500*time.Millisecond, "b", rateDecision{allowed: true, count: 1, wait: 10 * time.Second}, 10}, // keys are separate
		{9*time.Second + 1, "a", rateDecision{allowed: false, count: 2, wait: time.Second - 1}, 1},                     // refused: no slot taken
		{10 * time.Second, "a", rateDecision{allowed: true, count: 2, wait: 4 * time.Second}, 4},                       // the t0 request left at t0+10s
		{30 * time.Second, "a", rateDecision{allowed: true, count: 1, wait: 10 * time.Second}, 10},
	}
	for i, s := range steps {
		got := l.take(s.key, t0.Add(s.at))
		if diff := cmp.Diff(s.want, got, cmp.AllowUnexported(rateDecision{})); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
		if r := ceilSeconds(got.wait); r != s.wantReset {
			t.Errorf("step %d: reset = %d, want %d", i, r, s.wantReset)
		}
	}
}

// TestRateWindow holds the window to the fact sheet with an injected clock: the first request
// over the limit gets 429 with a Retry-After right to the second, and the headers follow.
func TestRateWindow(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ts, token := setup(t, Config{Users: 1, RateLimit: 3, RateWindow: time.Minute, Now: clock.Now})
	get := func() response { return do(t, ts, "GET", scimUsers+"?count=0", token, "") }
	wantHeaders := func(r response, count, reset string) {
		t.Helper()
		got := []string{r.header.Get("inin-ratelimit-allowed"), r.header.Get("inin-ratelimit-count"), r.header.Get("inin-ratelimit-reset")}
		if diff := cmp.Diff([]string{"3", count, reset}, got); diff != "" {
			t.Errorf("allowed/count/reset (-want +got):\n%s", diff)
		}
	}

	wantHeaders(get(), "1", "60") // t0
	clock.Advance(10 * time.Second)
	wantHeaders(get(), "2", "50") // t0+10s
	clock.Advance(10 * time.Second)
	wantHeaders(get(), "3", "40") // t0+20s
	clock.Advance(5*time.Second + 500*time.Millisecond)

	// t0+25.5s: over the limit. The oldest request (t0) leaves at t0+60s: 34.5 s → 35.
	r := get()
	m := wantErrorBody(t, r, http.StatusTooManyRequests, "too.many.requests.retry.after")
	if got := r.header.Get("Retry-After"); got != "35" {
		t.Errorf("Retry-After = %q, want 35", got)
	}
	wantHeaders(r, "3", "35")
	want := map[string]any{
		"message":           "Rate limit exceeded the maximum. Retry the request in [35] seconds",
		"messageWithParams": "Rate limit exceeded the maximum. Retry the request in [{0}] seconds",
		"messageParams":     map[string]any{"0": "35"},
		"details":           []any{}, "errors": []any{},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, m[k]); diff != "" {
			t.Errorf("429 body %s (-want +got):\n%s", k, diff)
		}
	}

	// 1 ns before the oldest leaves, still refused with Retry-After 1 (rounded up, at least 1).
	clock.Advance(34*time.Second + 500*time.Millisecond - 1)
	r = get()
	wantStatus(t, r, http.StatusTooManyRequests)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	// At t0+60s the oldest has left; the refused requests took no slot.
	clock.Advance(1)
	r = get()
	wantStatus(t, r, http.StatusOK)
	wantHeaders(r, "3", "10") // window now holds t0+10s, t0+20s, t0+60s
	if got := ts.Counters().ByFault["ratelimit"]; got != 2 {
		t.Errorf("ratelimit 429s counted = %d, want 2", got)
	}
}

func TestRateLimitModes(t *testing.T) {
	t.Parallel()
	clients := []Client{{ID: "a", Secret: "s"}, {ID: "b", Secret: "s"}}
	tests := []struct {
		mode RateLimitMode
		want []int // statuses of: token a1, token a2, token b1
	}{
		{RateLimitPerClient, []int{200, 429, 200}},
		{RateLimitPerToken, []int{200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			ts := NewTestServer(t, Config{Users: 1, Clients: clients, RateLimit: 1, RateLimitMode: tt.mode})
			a1, _ := ts.Token("a")
			a2, _ := ts.Token("a")
			b1, _ := ts.Token("b")
			var got []int
			for _, tok := range []string{a1, a2, b1} {
				got = append(got, do(t, ts, "GET", scimUsers+"?count=0", tok, "").status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateHeadersOnEveryAPIResponse(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1, RateLimitAllowedHeader: 180})
	seen := map[string]bool{}
	for _, r := range []response{
		do(t, ts, "GET", scimUsers, token, ""),
		do(t, ts, "GET", scimUsers+"/nope", token, ""),
		do(t, ts, "GET", "/api/v2/nothing", token, ""),
		do(t, ts, "GET", scimUsers, "", ""), // 401: not counted
	} {
		if r.header.Get("inin-ratelimit-allowed") != "180" || r.header.Get("inin-ratelimit-count") == "" ||
			r.header.Get("inin-ratelimit-reset") == "" {
			t.Errorf("status %d: rate-limit headers missing: %v", r.status, r.header)
		}
		cid := r.header.Get("ININ-Correlation-Id")
		if len(cid) != 36 || seen[cid] {
			t.Errorf("status %d: correlation id %q is not a fresh UUID", r.status, cid)
		}
		seen[cid] = true
	}
}

// TestRateLimitConcurrent: however many requests race, the window admits exactly the limit.
func TestRateLimitConcurrent(t *testing.T) {
	t.Parallel()
	clock := newClock() // frozen: no request leaves the window
	ts, token := setup(t, Config{Users: 1, RateLimit: 10, Now: clock.Now})
	const n = 30
	statuses := make(chan int, n)
	for range n {
		go func() { // no t.Fatal off the test goroutine: report failures as status -1
			req, _ := http.NewRequest("GET", ts.URL+scimUsers+"?count=0", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := ts.HTTP.Client().Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	got := map[int]int{}
	for range n {
		got[<-statuses]++
	}
	if diff := cmp.Diff(map[int]int{200: 10, 429: 20}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}
