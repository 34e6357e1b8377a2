package ctl

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

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// writeKeys writes an Ed25519 key pair as openssl does (PKCS#8 and SPKI PEM) and returns the paths.
func writeKeys(t *testing.T, dir, name string) (ed25519.PrivateKey, string, string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k8, _ := x509.MarshalPKCS8PrivateKey(key)
	spki, _ := x509.MarshalPKIXPublicKey(pub)
	kp, pp := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-pub.pem")
	if err := os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pp, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, kp, pp
}

// genesysctl audit verify (events 1..7, checkpoints of 1..3, 4..6 and 7..9 at 8, 9 and 10): 0 on the untouched stream sealed by a checkpoint, 1 with another key
// (every checkpoint is then forged) and before any checkpoint, 2 without or with a bad key file.
func TestAuditVerify(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 2})
	dir := t.TempDir()
	keyPath, pubPath := "", ""
	var key ed25519.PrivateKey
	key, keyPath, pubPath = writeKeys(t, dir, "chain")
	_, _, otherPub := writeKeys(t, dir, "other")

	pub, err := audit.NewPublisher(f.JS, audit.PublisherConfig{Prefix: f.Names.EffectivePrefix(), Stream: f.Names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 7 {
		ev, _ := audit.Origin{}.OpsEvent(audit.Ops{Kind: "test_event", Message: fmt.Sprintf("event %d", i), Time: time.Unix(1_800_000_000+int64(i), 0)})
		ack, err := pub.Publish(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	if code, out, errOut := f.ctl("audit", "verify", "--public-key", pubPath); code != ExitFailure || !strings.Contains(out, "NOT VERIFIED") {
		t.Fatalf("before any checkpoint: exit %d\n%s%s", code, out, errOut)
	}

	loaded, err := auditchain.LoadPrivateKey(keyPath)
	if err != nil || !loaded.Equal(key) {
		t.Fatalf("load %s: %v", keyPath, err)
	}
	locks, err := f.JS.KeyValue(t.Context(), f.Names.LocksBucket())
	if err != nil {
		t.Fatal(err)
	}
	sealed := make(chan uint64, 16)
	c, err := auditchain.NewCheckpointer(t.Context(), auditchain.CheckpointerConfig{JetStream: f.JS, Stream: f.Names.AuditStream(),
		Prefix: f.Names.EffectivePrefix(), Locks: locks, Key: loaded, Every: 3, Interval: 100 * time.Millisecond, Instance: "ctl-test",
		Published: func(cp *auditchain.Checkpoint) { sealed <- cp.Seq }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	for s := uint64(0); s < last; {
		select {
		case s = <-sealed:
		case <-time.After(20 * time.Second):
			t.Fatalf("no checkpoint covered %d", last)
		}
	}
	cancel()
	wg.Wait()

	if code, out, errOut := f.ctl("audit", "verify", "--public-key", pubPath); code != ExitOK || !strings.Contains(out, "OK: 3 checkpoints verify; sealed up to sequence 9") {
		t.Fatalf("untouched: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := f.ctl("audit", "verify", "--public-key", pubPath, "--from", "5", "--output", "json")
	lines := jsonLines[chainLine](t, out)
	if code != ExitOK || len(lines) != 1 || !lines[0].OK || lines[0].Start != 4 {
		t.Fatalf("--from 5: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := f.ctl("audit", "verify", "--public-key", otherPub); code != ExitFailure || !strings.Contains(out, "TAMPERED: first bad sequence 8: forged checkpoint") {
		t.Fatalf("another key: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := f.ctl("audit", "verify"); code != ExitUsage || !strings.Contains(errOut, "--public-key FILE is required") {
		t.Fatalf("no key: exit %d %s", code, errOut)
	}
	if code, _, errOut := f.ctl("audit", "verify", "--public-key", keyPath); code != ExitUsage || !strings.Contains(errOut, "no PEM \"PUBLIC KEY\" block") || strings.Contains(errOut, "BEGIN") {
		t.Fatalf("private key as public key: exit %d %s", code, errOut)
	}
}
