package workercmd

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// D6 of the 2026-12 review: with --provision verify a worker never provisions; `worker provision`
// provisions and checks; on a server without accounts the default (auto) repairs a weakened
// stream. internal/accounts tests the same under deploy/nats-accounts.conf.
func TestProvisionModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if code := Main(ctx, e.args("--skip-self-check", "--provision", "verify"), io.Discard, &logs); code != 1 ||
		!strings.Contains(logs.String(), "stream GENESYS_AUDIT is missing") || !strings.Contains(logs.String(), "`worker provision --prefix genesys --replicas 1 --ack-wait 30s`") {
		t.Fatalf("--provision verify on an empty server: exit %d, want 1 naming the missing stream and the fix\n%s", code, logs.String())
	}
	if _, err := e.js.Stream(t.Context(), "GENESYS_AUDIT"); err == nil {
		t.Fatal("--provision verify created the audit stream")
	}
	var out, errOut strings.Builder
	prov := []string{"provision", "--nats-url", e.ns.ClientURL()}
	if code := Main(t.Context(), append(prov, "--check"), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "is missing") {
		t.Errorf("provision --check on an empty server: exit %d, stderr %q", code, errOut.String())
	}
	if code := Main(t.Context(), prov, &out, &errOut); code != 0 || !strings.Contains(out.String(), "is as required") {
		t.Fatalf("provision: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// Someone shrinks the audit stream; a worker in auto mode (allowed here) restores it.
	s, err := e.js.Stream(t.Context(), "GENESYS_AUDIT")
	if err != nil {
		t.Fatal(err)
	}
	sc := s.CachedInfo().Config
	sc.MaxMsgs, sc.Discard = 1, jetstream.DiscardOld
	if _, err := e.js.UpdateStream(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	logs = syncBuffer{}
	stop := start(t, e.args("--skip-self-check"), &logs)
	logs.waitFor(t, 10*time.Second, "the worker to start", says("worker started"))
	if s, err := e.js.Stream(t.Context(), "GENESYS_AUDIT"); err != nil || s.CachedInfo().Config.MaxMsgs != -1 || s.CachedInfo().Config.Discard != jetstream.DiscardNew {
		t.Errorf("audit stream not restored: %v", err)
	}
	if code, _ := stop(); code != 0 {
		t.Errorf("worker exit %d\n%s", code, logs.String())
	}
	if code := Main(t.Context(), []string{"--dev", "--provision", "sometimes"}, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "--provision") {
		t.Errorf("--provision sometimes: exit %d, stderr %q", code, errOut.String())
	}
}
