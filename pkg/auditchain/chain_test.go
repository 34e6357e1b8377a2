package auditchain_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// bed is a provisioned deployment on a real nats-server.
type bed struct {
	js     jetstream.JetStream
	names  jobs.Names
	stream jetstream.Stream
	locks  jetstream.KeyValue
	pub    *audit.Publisher
	n      int
}

func newBed(t testing.TB) *bed {
	t.Helper()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cfg := jobs.TopologyConfig{}
	if err := jobs.Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	names := cfg.Names
	s, err := js.Stream(ctx, names.AuditStream())
	if err != nil {
		t.Fatal(err)
	}
	locks, err := js.KeyValue(ctx, names.LocksBucket())
	if err != nil {
		t.Fatal(err)
	}
	p, err := audit.NewPublisher(js, audit.PublisherConfig{Prefix: names.EffectivePrefix(), Stream: names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	return &bed{js: js, names: names, stream: s, locks: locks, pub: p}
}

// events publishes n ops events (any audit event is chained alike) and returns the last sequence.
func (b *bed) events(t *testing.T, n int) uint64 {
	t.Helper()
	var last uint64
	for range n {
		b.n++
		ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: "test_event", Message: fmt.Sprintf("event %d", b.n), Time: time.Unix(1_800_000_000+int64(b.n), 0)})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := b.pub.Publish(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	return last
}

func (b *bed) cpSubject() string { return audit.OpsSubject(b.names.EffectivePrefix(), auditchain.Kind) }

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// checkpointer runs one checkpointer instance until the test ends; sealed receives the Seq of
// each checkpoint it publishes.
type runner struct {
	mu  sync.Mutex
	cps []*auditchain.Checkpoint
	ch  chan struct{}
}

func (r *runner) wait(t *testing.T, seq uint64) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		done := len(r.cps) > 0 && r.cps[len(r.cps)-1].Seq >= seq
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("no checkpoint covered sequence %d in 20s", seq)
		}
	}
}

func (r *runner) published(c *auditchain.Checkpoint) {
	r.mu.Lock()
	r.cps = append(r.cps, c)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

// run starts checkpointer instances sharing r; the returned func stops them and waits.
func (b *bed) run(t *testing.T, key ed25519.PrivateKey, r *runner, instances ...string) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, inst := range instances {
		c, err := auditchain.NewCheckpointer(ctx, auditchain.CheckpointerConfig{JetStream: b.js, Stream: b.names.AuditStream(),
			Prefix: b.names.EffectivePrefix(), Locks: b.locks, Key: key, Every: 5, Interval: 200 * time.Millisecond,
			Instance: inst, LeaseTTL: 3 * time.Second, Logger: zaptest.NewLogger(t), Published: r.published})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

func newRunner() *runner { return &runner{ch: make(chan struct{}, 1)} }

func verify(t *testing.T, s jetstream.Stream, subj string, pub ed25519.PublicKey, from uint64) *auditchain.Result {
	t.Helper()
	res, err := auditchain.Verify(t.Context(), auditchain.VerifyConfig{Stream: s, CheckpointSubject: subj, PublicKey: pub, From: from})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sealedBed is a stream of 23 events with checkpoints every 5 events, the last event sealed.
func sealedBed(t *testing.T) (*bed, ed25519.PrivateKey, []*auditchain.Checkpoint) {
	b := newBed(t)
	key := newKey(t)
	r := newRunner()
	stop := b.run(t, key, r, "w1")
	last := b.events(t, 12)
	r.wait(t, last)
	last = b.events(t, 11)
	r.wait(t, last)
	stop()
	return b, key, r.cps
}

func TestVerifyUntouched(t *testing.T) {
	t.Parallel()
	b, key, cps := sealedBed(t)
	res := verify(t, b.stream, b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if !res.OK() || res.Checkpoints != len(cps) || res.Sealed != cps[len(cps)-1].Seq {
		t.Fatalf("untouched stream: %+v (published %d checkpoints)", res, len(cps))
	}
	for i := 1; i < len(cps); i++ {
		if cps[i].From != cps[i-1].Seq+1 {
			t.Fatalf("checkpoint %d covers %d..%d after one ending at %d", i, cps[i].From, cps[i].Seq, cps[i-1].Seq)
		}
	}
	// --from: start at the checkpoint at or before the sequence
	res = verify(t, b.stream, b.cpSubject(), key.Public().(ed25519.PublicKey), cps[1].Seq+2)
	if !res.OK() || res.Start != cps[1].Seq+1 || res.Base != cps[1].Link.String() {
		t.Fatalf("--from %d: %+v", cps[1].Seq+2, res)
	}
	// another key: every checkpoint is forged, the first names its own sequence
	res = verify(t, b.stream, b.cpSubject(), newKey(t).Public().(ed25519.PublicKey), 0)
	if res.OK() || !strings.Contains(res.First().Problem, "forged") {
		t.Fatalf("wrong public key: %+v", res)
	}
}

// copyStream writes every message of src into a stream of the same name and subjects on another
// server (as a restored backup would be), in order, so that sequences are preserved; edit may
// change a message's data. Then it deletes the sequences in del (a removed event leaves a gap).
func copyStream(t *testing.T, b *bed, edit func(seq uint64, data []byte) []byte, del ...uint64) jetstream.Stream {
	t.Helper()
	ctx := t.Context()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.DenyDelete, cfg.DenyPurge, cfg.Duplicates = false, false, 0
	dst, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := b.stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		data := m.Data
		if edit != nil {
			data = edit(seq, data)
		}
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Data: data})
		if err != nil || ack.Sequence != seq {
			t.Fatalf("copy %d: %v %+v", seq, err, ack)
		}
	}
	for _, seq := range del {
		if err := dst.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestVerifyChangedEvent(t *testing.T) {
	t.Parallel()
	b, key, cps := sealedBed(t)
	bad := cps[1].From + 2 // an event inside the second checkpoint's span
	cp := copyStream(t, b, func(seq uint64, data []byte) []byte {
		if seq == bad {
			return []byte(strings.Replace(string(data), "event", "EVENT", 1))
		}
		return data
	})
	res := verify(t, cp, b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if res.OK() || res.First().Seq != bad || !strings.HasPrefix(res.First().Problem, "changed") || len(res.Findings) != 1 {
		t.Fatalf("changed %d: %+v", bad, res)
	}
	// the copy itself, untouched, verifies
	if res := verify(t, copyStream(t, b, nil), b.cpSubject(), key.Public().(ed25519.PublicKey), 0); !res.OK() {
		t.Fatalf("untouched copy: %+v", res)
	}
}

func TestVerifyRemovedEvent(t *testing.T) {
	t.Parallel()
	b, key, cps := sealedBed(t)
	gone := cps[2].From + 1
	res := verify(t, copyStream(t, b, nil, gone), b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if res.OK() || res.First().Seq != gone || !strings.HasPrefix(res.First().Problem, "missing") {
		t.Fatalf("removed %d: %+v", gone, res)
	}
	// the last message removed (the stream keeps its last sequence): the tail is missing
	info, err := b.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	end := info.State.LastSeq
	res = verify(t, copyStream(t, b, nil, end), b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if res.OK() || res.First().Seq != end || !strings.HasPrefix(res.First().Problem, "missing") {
		t.Fatalf("removed the last, %d: %+v", end, res)
	}
	// the first message removed: the stream starts at 2
	res = verify(t, copyStream(t, b, nil, 1), b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if res.OK() || res.First().Seq != 1 {
		t.Fatalf("removed 1: %+v", res)
	}
}

func TestVerifyForgedCheckpoint(t *testing.T) {
	t.Parallel()
	b, key, cps := sealedBed(t)
	other := newKey(t)
	// the message holding the second checkpoint, re-signed by another key
	var forgedAt uint64
	cp := copyStream(t, b, func(seq uint64, data []byte) []byte {
		c, ok, err := auditchain.ParseEvent(data)
		if !ok || err != nil || c.Seq != cps[1].Seq {
			return data
		}
		forgedAt = seq
		c.Sign(other)
		out := string(data)
		for k, v := range c.Fields() {
			if k == "key_id" || k == "signature" {
				old := cps[1].Fields()[k]
				out = strings.ReplaceAll(out, old, v)
			}
		}
		return []byte(out)
	})
	res := verify(t, cp, b.cpSubject(), key.Public().(ed25519.PublicKey), 0)
	if forgedAt == 0 || res.OK() || res.First().Seq != forgedAt || !strings.HasPrefix(res.First().Problem, "forged") {
		t.Fatalf("forged checkpoint at %d: %+v", forgedAt, res)
	}
}

// TestCheckpointerResumes: two instances at once (one signs: the spans follow each other), then
// a restart goes on from the last checkpoint.
func TestCheckpointerResumes(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	key := newKey(t)
	r := newRunner()
	stop := b.run(t, key, r, "w1", "w2")
	r.wait(t, b.events(t, 17))
	stop()
	r2 := newRunner()
	stop = b.run(t, key, r2, "w3")
	r2.wait(t, b.events(t, 9))
	stop()
	all := append(r.cps, r2.cps...)
	for i := 1; i < len(all); i++ {
		if all[i].From != all[i-1].Seq+1 {
			t.Fatalf("checkpoint %d covers %d..%d after one ending at %d", i, all[i].From, all[i].Seq, all[i-1].Seq)
		}
	}
	if res := verify(t, b.stream, b.cpSubject(), key.Public().(ed25519.PublicKey), 0); !res.OK() || res.Checkpoints != len(all) {
		t.Fatalf("after restart: %+v (%d checkpoints)", res, len(all))
	}
}
