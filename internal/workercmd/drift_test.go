package workercmd

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

func TestDriftFlagsRefuseBadValues(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	base := []string{"--region", "eu-central-1", "--client-id", "id", "--client-secret-file", secretFile}
	for _, tt := range []struct{ args, want string }{
		{"--drift-share=0", `--drift-share "0"`},
		{"--drift-share=150%", `--drift-share "150%"`},
		{"--drift-share=lots", `--drift-share "lots"`},
		{"--drift-days=0", "--drift-days must be at least 1"},
		{"--drift-policy=delete", `--drift-policy "delete": want alert or redeactivate`},
	} {
		var errb bytes.Buffer
		if code := Main(t.Context(), append(base, tt.args), io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 saying %q", tt.args, code, errb.String(), tt.want)
		}
	}
	for s, want := range map[string]float64{"5%": 0.05, "0.05": 0.05, "100%": 1, " 12.5% ": 0.125} {
		if got, err := (&driftFlags{DriftShare: s}).share(); err != nil || got != want {
			t.Errorf("share %q = %v, %v; want %v", s, got, err, want)
		}
	}
}

// With --drift-watch the worker becomes the fleet's active drift watch (alone, it takes the
// lease) and exports the drift metrics.
func TestDriftWatchRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	addr := freeAddr(t)
	var logs syncBuffer
	start(t, append(e.args(), "--http", addr, "--drift-watch", "--drift-policy", "redeactivate", "--drift-share", "10%"), &logs)
	logs.waitFor(t, 10*time.Second, "the drift watch to become active", says("drift watch active"))
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"genesys_drift_active 1", "genesys_drift_watched_users", "genesys_drift_checks_total", "genesys_drift_cycle_seconds"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if !strings.Contains(logs.String(), `"calls_per_minute":100000`) {
		t.Errorf("the watch's limit is not 10%% of 1,000,000/min:\n%s", logs.String())
	}
}
