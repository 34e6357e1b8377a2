package workercmd

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
)

// TestDevModeWithExamples is the README's first two commands: the worker in
// dev mode (on free ports), then enqueue with the example files.
func TestDevModeWithExamples(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	var logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--dev", "--dev-nats-listen", "127.0.0.1:0", "--dev-sim-listen", "127.0.0.1:0",
			"--dev-ingress-listen", "127.0.0.1:0", "--dev-data-dir", t.TempDir(), "--http", freeAddr(t)}, &out, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("worker --dev exit %d\n%s", code, logs.String())
		}
	})
	urlRE := regexp.MustCompile(`NATS\s+(nats://127\.0\.0\.1:\d+)`)
	var natsURL string
	out.waitFor(t, 30*time.Second, "the dev banner", func(text string) bool {
		if m := urlRE.FindStringSubmatch(text); m != nil {
			natsURL = m[1]
			return true
		}
		return false
	})
	if !strings.Contains(out.String(), "go run ./cmd/enqueue --file examples/offboarding.csv --wait --nats-url "+natsURL) {
		t.Errorf("the banner does not show the enqueue line for this NATS URL:\n%s", out.String())
	}
	examples := filepath.Join("..", "..", "examples")
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		ectx, ecancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer ecancel()
		code := enqueue.Main(ectx, append(args, "--nats-url", natsURL), io.Reader(strings.NewReader("")), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := run("--file", filepath.Join(examples, "offboarding.csv"), "--wait")
	if code != 0 || !strings.Contains(stdout, "Summary") || !strings.Contains(stdout, "deactivated") {
		t.Errorf("offboarding.csv: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run("--file", filepath.Join(examples, "edge-cases.csv"), "--skip-invalid", "--wait")
	if code == 0 {
		t.Errorf("edge-cases.csv exited 0")
	}
	for _, want := range []string{"already_inactive", "not_found", "protected", "deactivated"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("edge-cases.csv output lacks %s:\n%s\n%s", want, stdout, stderr)
		}
	}
	if !strings.Contains(stderr, "line 14") {
		t.Errorf("the malformed row's line is not reported:\n%s", stderr)
	}
	// The relay posted every terminal event, signed, to the dev sink, which verified and printed it.
	out.waitFor(t, 20*time.Second, "the sink to print the events", func(text string) bool {
		return strings.Count(text, "deactivated") >= 7 && strings.Contains(text, "protected")
	})
	if strings.Contains(out.String(), "REFUSED") {
		t.Errorf("the sink refused a delivery:\n%s", out.String())
	}
	// The ingress runs too, and its printed curl line for the webhook source works as pasted.
	var curl string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "body=") && strings.Contains(line, "/v1/sources/soar") {
			curl = strings.TrimSpace(line)
		}
	}
	if curl == "" {
		t.Fatalf("the banner shows no curl line for the webhook source:\n%s", out.String())
	}
	res, err := exec.CommandContext(t.Context(), "sh", "-c", curl).CombinedOutput()
	if err != nil || !strings.Contains(string(res), `"accepted":1`) {
		t.Errorf("the printed curl line: %v\n%s\n%s", err, curl, res)
	}
}
