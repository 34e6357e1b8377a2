package budget_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		natstest.IgnoreSourceSetup(),
	)
}

// bucket is jobs.Names{}.BudgetBucket().
const bucket = "genesys-budget"

// fleetBed is a NATS server with the budget bucket provisioned; every
// budget it makes has a NATS connection of its own, like a separate worker.
type fleetBed struct {
	t   *testing.T
	srv *server.Server
}

func newFleetBed(t *testing.T) *fleetBed {
	t.Helper()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// As jobs.Provision makes it (not imported here, so that these tests
	// build while the jobs package changes).
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket, History: 1,
		LimitMarkerTTL: time.Minute, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	return &fleetBed{t: t, srv: srv}
}

// kv opens the budget bucket on a new connection.
func (f *fleetBed) kv() (jetstream.KeyValue, *nats.Conn) {
	f.t.Helper()
	nc, err := nats.Connect(f.srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		f.t.Fatal(err)
	}
	kv, err := js.KeyValue(f.t.Context(), bucket)
	if err != nil {
		f.t.Fatal(err)
	}
	return kv, nc
}

// budget starts a worker's Budget on its own connection with test-sized
// defaults: 20 requests per 200 ms, 5 ms skew, 5 ms send jitter.
func (f *fleetBed) budget(id string, edit func(*budget.Config)) *budget.Budget {
	f.t.Helper()
	kv, _ := f.kv()
	cfg := budget.Config{KV: kv, Key: "sim-client", WorkerID: id, Limit: 20, Window: 200 * time.Millisecond,
		MaxClockSkew: 5 * time.Millisecond, MaxSendJitter: 5 * time.Millisecond, OpTimeout: 200 * time.Millisecond,
		Logger: zaptest.NewLogger(f.t)}
	if edit != nil {
		edit(&cfg)
	}
	b, err := budget.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { b.Close() })
	return b
}

// grants records when requests were granted.
type grants struct {
	mu    sync.Mutex
	at    []time.Time
	added chan struct{} // closed by the next add; nil until someone waits
}

func (g *grants) add(t time.Time) {
	g.mu.Lock()
	g.at = append(g.at, t)
	if g.added != nil {
		close(g.added)
		g.added = nil
	}
	g.mu.Unlock()
}

// waitUntil waits, at most waitTimeout, until cond holds of the grant times (in the order
// recorded), asking it again after each grant.
func (g *grants) waitUntil(t *testing.T, what string, cond func([]time.Time) bool) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		g.mu.Lock()
		ok := cond(g.at)
		if g.added == nil {
			g.added = make(chan struct{})
		}
		added := g.added
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-added:
		case <-timeout:
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
	}
}

// waitPaced waits until g holds more grants than a budget's burst: its worker takes the budget
// at the paced rate from then on (the budget is saturated).
func (g *grants) waitPaced(t *testing.T) {
	t.Helper()
	g.waitUntil(t, "the worker to use its burst", func(ts []time.Time) bool { return len(ts) > defaultBurst })
}

// defaultBurst is budget.Config's default Burst.
const defaultBurst = 2

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

// waitKV waits, at most waitTimeout, until cond holds, asking it again after each change of key.
func waitKV(t *testing.T, kv jetstream.KeyValue, key, what string, cond func() bool) {
	t.Helper()
	w, err := kv.Watch(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	timeout := time.After(waitTimeout)
	for !cond() {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				t.Fatalf("the watch of %s ended while waiting for %s", key, what)
			}
		case <-timeout:
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
	}
}

func (g *grants) times() []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.at)
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// maxInWindow is the most times that fall in any half-open window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// hammer runs n goroutines that Wait on b at priority p until ctx ends,
// recording every grant.
func hammer(ctx context.Context, wg *sync.WaitGroup, b *budget.Budget, p priority.Priority, n int, g *grants) {
	for range n {
		wg.Go(func() {
			for b.Wait(ctx, p) == nil {
				g.add(time.Now())
			}
		})
	}
}
