package auditchain_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/ed25519"
	"github.com/nats-io/nats.go"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
)

// eventData is an audit event of a typical size (a user event is 1–2 KiB).
func eventData(b *testing.B) []byte {
	ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: "test_event", Message: strings.Repeat("x", 1000), Time: time.Unix(1_800_000_000, 0)})
	if err != nil {
		b.Fatal(err)
	}
	data, err := ev.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkLink is the chain's cost per event alone: one link over a typical event.
func BenchmarkLink(b *testing.B) {
	data := eventData(b)
	h := auditchain.NewHasher()
	var l auditchain.Link
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		seq++
		l = h.Next(l, seq, "genesys.audit.user.deactivated.u-1", data)
	}
}

// fill stores n typical events into the bed's (file-backed) audit stream, asynchronously.
func (bd *bed) fill(b *testing.B, n int) uint64 {
	data := eventData(b)
	subj := audit.UserSubject(bd.names.EffectivePrefix(), audit.Outcome("deactivated"), "u-1")
	for i := 0; i < n; i++ {
		if _, err := bd.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-bd.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("fill: publishes not acknowledged in a minute")
	}
	info, err := bd.stream.Info(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	return info.State.LastSeq
}

// BenchmarkCheckpointer is the checkpointer's cost per event end to end on a real nats-server
// with a file-backed stream: b.N events stored beforehand, then the time and allocations for one
// checkpointer to read, chain and checkpoint them all (every 100 events, as the default).
func BenchmarkCheckpointer(b *testing.B) {
	bd := newBed(b)
	last := bd.fill(b, b.N)
	key := newKey(b)
	var mu sync.Mutex
	var sealed uint64
	done := make(chan struct{})
	c, err := auditchain.NewCheckpointer(b.Context(), auditchain.CheckpointerConfig{JetStream: bd.js, Stream: bd.names.AuditStream(),
		Prefix: bd.names.EffectivePrefix(), Locks: bd.locks, Key: key, Every: 100, Interval: time.Minute, Instance: "bench",
		Published: func(cp *auditchain.Checkpoint) {
			mu.Lock()
			defer mu.Unlock()
			if sealed = cp.Seq; sealed >= last {
				close(done)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	go func() { _ = c.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatal("checkpointer did not seal the stream in 10 min")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	cancel()
	// verify: the cost of genesysctl audit verify per message
	start := time.Now()
	res, err := auditchain.Verify(b.Context(), auditchain.VerifyConfig{Stream: bd.stream, CheckpointSubject: bd.cpSubject(), PublicKey: key.Public().(ed25519.PublicKey)})
	if err != nil || len(res.Findings) > 0 {
		b.Fatalf("verify: %v %+v", err, res)
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(res.Messages), "verify-ns/msg")
}
