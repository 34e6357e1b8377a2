package zaplog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var b strings.Builder
	log := New(&b, "json", "warn")
	log.Info("dropped")
	log.Warn("kept")
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(b.String())), &line); err != nil || line["msg"] != "kept" {
		t.Fatalf("json at warn: %q (%v)", b.String(), err)
	}
	b.Reset()
	New(&b, "console", "info").Info("hello")
	if out := b.String(); !strings.Contains(out, "INFO\thello") || strings.HasPrefix(out, "{") {
		t.Fatalf("console: %q", out)
	}
}
