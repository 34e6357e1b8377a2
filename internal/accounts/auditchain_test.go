package accounts_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
)

// The audit chain under the accounts: the worker user runs the checkpointer (its lease in the
// locks bucket, message gets on the audit stream, checkpoint ops events) with no other
// permission; the auditor runs genesysctl audit verify (read-only).
func TestAuditChainUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := audit.NewPublisher(worker.js, audit.PublisherConfig{Prefix: names.EffectivePrefix(), Stream: names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 4 {
		ev, _ := audit.Origin{}.OpsEvent(audit.Ops{Kind: "test_event", Message: fmt.Sprintf("event %d", i), Time: time.Unix(1_800_000_000+int64(i), 0)})
		ack, err := p.Publish(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	locks, err := worker.js.KeyValue(t.Context(), names.LocksBucket())
	if err != nil {
		t.Fatal(err)
	}
	sealed := make(chan uint64, 16)
	c, err := auditchain.NewCheckpointer(t.Context(), auditchain.CheckpointerConfig{JetStream: worker.js, Stream: names.AuditStream(),
		Prefix: names.EffectivePrefix(), Locks: locks, Key: key, Every: 2, Interval: 100 * time.Millisecond, Instance: "acc-chain",
		Logger: zaptest.NewLogger(t), Published: func(cp *auditchain.Checkpoint) { sealed <- cp.Seq }})
	if err != nil {
		t.Fatalf("checkpointer as the worker: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	for s := uint64(0); s < last; {
		select {
		case s = <-sealed:
		case v := <-worker.violations:
			t.Fatalf("the checkpointer needs a permission the worker lacks: %s", v)
		case <-time.After(20 * time.Second):
			t.Fatalf("no checkpoint covered %d", last)
		}
	}
	cancel()
	wg.Wait()

	spki, _ := x509.MarshalPKIXPublicKey(pub)
	pubFile := filepath.Join(t.TempDir(), "audit-chain.pub.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o644)
	if code, out, errOut := ctlAs(t, url, "auditor", "audit", "verify", "--public-key", pubFile); code != 0 || !strings.Contains(out, "OK: 2 checkpoints verify") {
		t.Fatalf("audit verify as the auditor: exit %d\n%s%s", code, out, errOut)
	}
}
