package genesys_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Review D10: a login host that never answers the token grant must not stall
// the client: the grant is bounded, fails as transient, and is reported to
// the grant observer and LastGrant (which readiness reads).
func TestHangingLoginHostIsBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	var observed atomic.Int32
	c, err := genesys.NewClient(srv.URL,
		genesys.WithCredentials("id", "secret"),
		genesys.WithGrantTimeout(200*time.Millisecond),
		genesys.WithMaxElapsedTime(time.Second),
		genesys.WithGrantObserver(func(r genesys.GrantResult) {
			if r.Err != nil {
				observed.Add(1)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = c.Users.List(ctx, &genesys.ListOptions{Count: 1})
	took := time.Since(start)
	if !errors.Is(err, genesys.ErrTransient) {
		t.Fatalf("List: got %v, want a transient grant failure", err)
	}
	if ctx.Err() != nil || took > 10*time.Second {
		t.Fatalf("the grant was not bounded: the call took %s", took)
	}
	if g := c.LastGrant(); g.Err == nil || g.At.IsZero() {
		t.Fatalf("LastGrant: got %+v, want the failed grant", g)
	}
	if observed.Load() == 0 {
		t.Fatal("the grant observer heard no failed grant")
	}
}

func TestGrantOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, opt := range []genesys.Option{genesys.WithGrantTimeout(0), genesys.WithGrantObserver(nil)} {
		if _, err := genesys.NewClient("https://api.mypurecloud.de", genesys.WithCredentials("a", "b"), opt); !errors.Is(err, genesys.ErrInvalidArgument) {
			t.Fatalf("got %v, want ErrInvalidArgument", err)
		}
	}
}
