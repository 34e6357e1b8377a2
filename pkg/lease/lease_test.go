package lease_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/lease"
)

// Two instances run for one key: one leads at a time; when it stops (releasing the key), the
// other takes over at once, well within the TTL; a third instance cannot take a held lease.
func TestRunOneLeaderAndTakeOver(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "locks", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 30 * time.Second // a takeover that waited for the expiry would fail the test
	var mu sync.Mutex
	leading := map[string]bool{}
	changed := make(chan string, 8)
	run := func(inst string) (stop func()) {
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() {
			_ = lease.Run(ctx, lease.Config{KV: kv, Key: "x.leader", Instance: inst, TTL: ttl}, func(err error) { t.Error(err) },
				func(ctx context.Context, _ *lease.Held) {
					mu.Lock()
					for other, on := range leading {
						if on {
							t.Errorf("%s leads while %s does", inst, other)
						}
					}
					leading[inst] = true
					mu.Unlock()
					changed <- inst
					<-ctx.Done()
					mu.Lock()
					leading[inst] = false
					mu.Unlock()
				})
		})
		return func() { cancel(); wg.Wait() }
	}
	wait := func() string {
		select {
		case inst := <-changed:
			return inst
		case <-time.After(10 * time.Second):
			t.Fatal("no instance took the lease in 10 s")
			return ""
		}
	}
	stopA := run("a")
	if got := wait(); got != "a" {
		t.Fatalf("first leader %s", got)
	}
	stopB := run("b")
	defer stopB()
	if l, err := lease.TryAcquire(t.Context(), lease.Config{KV: kv, Key: "x.leader", Instance: "c", TTL: ttl}); err != nil || l != nil {
		t.Fatalf("c took a held lease: %v %v", l, err)
	}
	stopA()
	if got := wait(); got != "b" {
		t.Fatalf("after a stopped, %s leads", got)
	}
}
