package genesyssim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaultsJSON(t *testing.T) {
	t.Parallel()
	var f Faults
	in := `{"latencyMin":"5ms","latencyMax":20000000,"errorRate":0.1,"maxHang":"2s","blockingUsers":["u1"]}`
	must(t, json.Unmarshal([]byte(in), &f))
	want := Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 20 * time.Millisecond, ErrorRate: 0.1,
		MaxHang: 2 * time.Second, BlockingUsers: []string{"u1"}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	out, _ := json.Marshal(f)
	if !strings.Contains(string(out), `"latencyMax":"20ms"`) {
		t.Errorf("encoded %s, want durations as strings", out)
	}
	if err := json.Unmarshal([]byte(`{"errorRat":0.1}`), &f); err == nil {
		t.Error("a misspelt field was accepted")
	}
}
