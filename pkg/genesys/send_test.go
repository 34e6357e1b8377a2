package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// failThen answers the first n calls with status, then 204.
func failThen(n int32, status int, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			w.Header().Set("Inin-Correlation-Id", fmt.Sprintf("corr-%d", calls.Load()))
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"status":%d,"code":"x"}`, status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{408, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var calls atomic.Int32
			b.mux.Handle("DELETE /api/v2/tokens/{id}", failThen(2, status, &calls))
			resp, err := c.Tokens.RevokeAll(t.Context(), testUserID)
			if err != nil {
				t.Fatalf("RevokeAll: %v", err)
			}
			if resp.Attempts != 3 || calls.Load() != 3 {
				t.Errorf("attempts=%d calls=%d, want 3", resp.Attempts, calls.Load())
			}
			if got := len(b.lim.observations()); got != 3 {
				t.Errorf("limiter heard %d responses, want 3", got)
			}
		})
	}
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 403, 409, 412, 429, 501} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var calls atomic.Int32
			b.mux.Handle("DELETE /api/v2/tokens/{id}", failThen(5, status, &calls))
			_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != status {
				t.Fatalf("err = %v, want an APIError %d", err, status)
			}
			if calls.Load() != 1 {
				t.Errorf("calls = %d, want 1", calls.Load())
			}
		})
	}
}

func TestRateLimitIsReportedToLimiterAndReturned(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "12")
		w.Header().Set("Inin-Ratelimit-Allowed", "300")
		w.Header().Set("Inin-Ratelimit-Count", "300")
		w.Header().Set("Inin-Ratelimit-Reset", "12")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"message":"Rate limit exceeded the maximum. Retry the request in [12] seconds","code":"too.many.requests.retry.after","status":429}`)
	})
	_, err := c.WithPriority(priority.Urgent).Tokens.RevokeAll(t.Context(), testUserID)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 12*time.Second {
		t.Fatalf("err = %v, want RateLimitError with RetryAfter 12s", err)
	}
	obs := b.lim.observations()
	want := Observation{Priority: priority.Urgent, StatusCode: 429, Rate: Rate{Allowed: 300, Count: 300, Reset: 12 * time.Second}, RetryAfter: 12 * time.Second}
	if len(obs) != 1 {
		t.Fatalf("observations = %v", obs)
	}
	obs[0].Time = time.Time{}
	if obs[0] != want {
		t.Errorf("observation = %+v, want %+v", obs[0], want)
	}
	if b.lim.waits[0] != priority.Urgent {
		t.Errorf("limiter waited with %v, want urgent", b.lim.waits[0])
	}
}

func TestResponseCarriesRateHeadersAndCorrelationID(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Inin-Ratelimit-Allowed", "180")
		w.Header().Set("Inin-Ratelimit-Count", "1")
		w.Header().Set("Inin-Ratelimit-Reset", "61")
		w.Header().Set("ININ-Correlation-Id", "9b1c-corr")
		w.WriteHeader(http.StatusNoContent)
	})
	resp, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.CorrelationID != "9b1c-corr" || resp.Rate != (Rate{Allowed: 180, Count: 1, Reset: 61 * time.Second}) {
		t.Errorf("response = corr %q rate %+v", resp.CorrelationID, resp.Rate)
	}
	if b.lim.waits[0] != priority.Normal {
		t.Errorf("default priority = %v, want normal", b.lim.waits[0])
	}
}

func TestTransientRetriesEndWithinDeadline(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	c.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(150 * time.Millisecond) }
	var calls atomic.Int32
	b.mux.Handle("DELETE /api/v2/tokens/{id}", failThen(1<<30, 503, &calls))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := c.Tokens.RevokeAll(ctx, testUserID)
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v, want the last transient error", err)
	}
	if ctx.Err() != nil {
		t.Errorf("returned after the deadline; want to give up when the next wait would pass it")
	}
	if n := calls.Load(); n < 2 || n > 4 {
		t.Errorf("calls = %d, want 2-4 in 500ms at 150ms apart", n)
	}
}

func TestTransientRetriesStopAtMaxElapsedTime(t *testing.T) {
	t.Parallel()
	c, b := setup(t, WithMaxElapsedTime(200*time.Millisecond))
	c.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(60 * time.Millisecond) }
	var calls atomic.Int32
	b.mux.Handle("DELETE /api/v2/tokens/{id}", failThen(1<<30, 500, &calls))
	start := time.Now()
	_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("gave up after %s, want about 200ms", el)
	}
}

func TestRetryAfterOn503IsHonoured(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var calls atomic.Int32
	var first time.Time
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		if d := time.Since(first); d < 900*time.Millisecond {
			t.Errorf("retried after %s, want Retry-After 1s", d)
		}
		w.WriteHeader(204)
	})
	if _, err := c.Tokens.RevokeAll(t.Context(), testUserID); err != nil {
		t.Fatal(err)
	}
}

func TestCallerCancellationReturnsContextError(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	_, err := c.Tokens.RevokeAll(ctx, testUserID)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestAttemptTimeoutIsTransientAndRetried(t *testing.T) {
	t.Parallel()
	c, b := setup(t, WithTimeout(100*time.Millisecond))
	var calls atomic.Int32
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // never answers
			return
		}
		w.WriteHeader(204)
	})
	resp, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("RevokeAll = %v, %v; want success on the second attempt", resp, err)
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	t.Parallel()
	c, b := setup(t, WithMaxElapsedTime(50*time.Millisecond))
	var calls atomic.Int32
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // drop the connection without an answer
		}
	})
	_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	var te *TransportError
	if !errors.Is(err, ErrTransient) || !errors.As(err, &te) {
		t.Fatalf("err = %v, want a transient TransportError", err)
	}
	if calls.Load() < 2 {
		t.Errorf("calls = %d, want retries", calls.Load())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var followed atomic.Bool
	b.mux.HandleFunc("DELETE /api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/api/v2/elsewhere", http.StatusTemporaryRedirect)
	})
	b.mux.HandleFunc("/api/v2/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	_, err := c.Tokens.RevokeAll(t.Context(), testUserID)
	if err == nil || followed.Load() {
		t.Errorf("err = %v followed = %t; want an error and no redirect followed", err, followed.Load())
	}
}
