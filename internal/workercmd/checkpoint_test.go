package workercmd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func TestCheckpointFlagsRefuseBadValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	notKey := filepath.Join(dir, "not-a-key.pem")
	os.WriteFile(notKey, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"), 0o600)
	base := []string{"--region", "eu-central-1", "--client-id", "id", "--client-secret-file", secretFile}
	for _, tt := range []struct{ args, want string }{
		{"--audit-checkpoint-every=0", "--audit-checkpoint-every 0: want 1..127"},
		{"--audit-checkpoint-every=128", "--audit-checkpoint-every 128: want 1..127"},
		{"--audit-checkpoint-interval=0s", "--audit-checkpoint-interval must be positive"},
		{"--audit-checkpoint-key=" + filepath.Join(dir, "missing.pem"), "--audit-checkpoint-key: open"},
		{"--audit-checkpoint-key=" + secretFile, `no PEM "PRIVATE KEY" block`},
		{"--audit-checkpoint-key=" + notKey, "not a PKCS#8 private key"},
	} {
		var errb bytes.Buffer
		if code := Main(t.Context(), append(base, tt.args), io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) ||
			strings.Contains(errb.String(), "c2VjcmV0") || strings.Contains(errb.String(), "s3cret") {
			t.Errorf("%s: exit %d, stderr %q; want 2 saying %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

// With --audit-checkpoint-key the worker takes the checkpointer's lease and signs a checkpoint
// after each audit event (--audit-checkpoint-every 1); the checkpoint verifies with the public key.
func TestCheckpointerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 2, RateLimit: 1_000_000})
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	k8, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "chain.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), 0o600)
	var logs syncBuffer
	addr := freeAddr(t)
	start(t, append(e.args(), "--http", addr, "--audit-checkpoint-key", keyFile, "--audit-checkpoint-every", "1"), &logs)
	logs.waitFor(t, 10*time.Second, "the checkpointer to become active", says("audit checkpointer active"))

	names := jobs.Names{}
	p, err := audit.NewPublisher(e.js, audit.PublisherConfig{Stream: names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := audit.Origin{}.OpsEvent(audit.Ops{Kind: "test_event", Message: "one", Time: time.Unix(1_800_000_000, 0)})
	ack, err := p.Publish(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.js.Stream(t.Context(), names.AuditStream())
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{audit.OpsSubject(audit.DefaultPrefix, auditchain.Kind)}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("no checkpoint covering %d: %v\n%s", ack.Sequence, err, logs.String())
		}
		cp, ok, err := auditchain.ParseEvent(m.Data())
		if !ok || err != nil {
			t.Fatalf("checkpoint event: %v", err)
		}
		if err := cp.Verify(pub); err != nil {
			t.Fatal(err)
		}
		if cp.Seq >= ack.Sequence {
			break
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"genesys_audit_checkpoints_total", "genesys_audit_checkpoint_sealed_seq"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
