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
	mu sync.Mutex
	at []time.Time
}

func (g *grants) add(t time.Time) {
	g.mu.Lock()
	g.at = append(g.at, t)
	g.mu.Unlock()
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
