package genesys

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

var _ Limiter = (*RateLimiter)(nil)

func TestRateLimiterPausesOn429WithClamp(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		retryAfter time.Duration
		want       time.Duration
	}{
		{0, time.Second},
		{300 * time.Millisecond, time.Second},
		{12 * time.Second, 12 * time.Second},
		{time.Hour, 15 * time.Minute},
	}
	for _, tt := range tests {
		l := NewRateLimiter(300, time.Minute)
		l.Observe(Observation{Time: at, StatusCode: 200, RetryAfter: time.Hour})
		if !l.PausedUntil().IsZero() {
			t.Errorf("a 200 paused the limiter")
		}
		l.Observe(Observation{Time: at, StatusCode: http.StatusTooManyRequests, RetryAfter: tt.retryAfter})
		if got := l.PausedUntil().Sub(at); got != tt.want {
			t.Errorf("Retry-After %s: paused for %s, want %s", tt.retryAfter, got, tt.want)
		}
	}
}

func TestRateLimiterWaitHonoursPauseAndContext(t *testing.T) {
	t.Parallel()
	l := NewRateLimiter(1000, time.Second)
	l.Observe(Observation{Time: time.Now(), StatusCode: 429, RetryAfter: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, priority.Urgent); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait during a pause = %v, want the context's error", err)
	}
	// The pause ends: Wait passes.
	l2 := NewRateLimiter(1000, time.Second)
	l2.Observe(Observation{Time: time.Now().Add(-time.Minute), StatusCode: 429, RetryAfter: time.Second})
	if err := l2.Wait(t.Context(), priority.Normal); err != nil {
		t.Errorf("Wait after the pause: %v", err)
	}
}

func TestRateLimiterNeverExceedsWindow(t *testing.T) {
	t.Parallel()
	// The bucket's arithmetic: burst 1 and (n-1)/window means that a window
	// holds at most 1 + (n-1) = n reservations.
	l := NewRateLimiter(300, time.Minute)
	start := time.Now()
	granted := 0
	for {
		r := l.lim.ReserveN(start, 1)
		if !r.OK() || r.DelayFrom(start) > time.Minute-time.Nanosecond {
			break
		}
		granted++
	}
	if granted > 300 || granted < 299 {
		t.Errorf("granted %d in one window, want 299-300", granted)
	}
}
