package auditchain_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
)

// recipe returns the manual verification block of docs/auditors.md (moved there from the README).
func recipe(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../docs/auditors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- audit-chain-recipe -->\n```sh\n")
	block, _, ok2 := strings.Cut(after, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/auditors.md has no audit-chain-recipe block")
	}
	return block
}

func sh(t *testing.T, dir, script string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestManualRecipe: a key made by openssl signs checkpoints; the recipe in docs/auditors.md (openssl,
// sha256sum, printf, xxd) verifies one from files of the stream's messages, and fails when a
// message file is changed.
func TestManualRecipe(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "openssl", "sha256sum", "xxd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the manual recipe needs %s, which is not on this machine", tool)
		}
	}
	dir := t.TempDir()
	if out, err := sh(t, dir, "openssl genpkey -algorithm ed25519 -out audit-chain.pem && openssl pkey -in audit-chain.pem -pubout -out audit-chain.pub.pem"); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	key, err := auditchain.LoadPrivateKey(filepath.Join(dir, "audit-chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := auditchain.LoadPublicKey(filepath.Join(dir, "audit-chain.pub.pem"))
	if err != nil || !pub.Equal(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("public key: %v", err)
	}

	b := newBed(t)
	r := newRunner()
	stop := b.run(t, key, r, "w1")
	last := b.events(t, 8)
	r.wait(t, last)
	stop()
	cp := r.cps[len(r.cps)-1] // covers from..seq, some sequences after the first checkpoint
	for n := uint64(1); n <= cp.Seq; n++ {
		m, err := b.stream.GetMsg(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("msg-%d.subject", n)), []byte(m.Subject), 0o644)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("msg-%d.data", n)), m.Data, 0o644)
	}
	var env []string
	for k, v := range cp.Fields() {
		env = append(env, k+"="+v)
	}
	script := recipe(t)
	out, err := sh(t, dir, script, env...)
	for _, want := range []string{"Signature Verified Successfully", "key id OK", fmt.Sprintf("chain OK up to %d", cp.Seq)} {
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("the recipe on checkpoint %d..%d: %v; want %q in\n%s", cp.From, cp.Seq, err, want, out)
		}
	}

	// one byte of one message changed: the chain no longer matches
	f := filepath.Join(dir, "msg-2.data")
	data, _ := os.ReadFile(f)
	data[len(data)-2] ^= 1
	os.WriteFile(f, data, 0o644)
	if out, _ := sh(t, dir, script, env...); strings.Contains(out, "chain OK") || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("changed message 2, the recipe says:\n%s", out)
	}
	// another time in the checkpoint: the signature fails
	env = append(env, "time=2000-01-01T00:00:00Z")
	if out, _ := sh(t, dir, script, env...); strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("changed checkpoint time, the recipe says:\n%s", out)
	}
}
