package observetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// promtool returns the command that runs promtool with args: the promtool on PATH (Debian's
// prometheus package) when there is one, else the one of the tools module
// (go tool -modfile=tools/promtool/go.mod promtool), which go builds on first use.
func promtool(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	if p, err := exec.LookPath("promtool"); err == nil && os.Getenv("GENESYS_PROMTOOL_FROM_GO") == "" {
		cmd = exec.CommandContext(t.Context(), p, args...)
	} else {
		modfile := filepath.Join(repoRoot(t), "tools", "promtool", "go.mod")
		cmd = exec.CommandContext(t.Context(), "go", append([]string{"tool", "-modfile=" + modfile, "promtool"}, args...)...)
	}
	cmd.Dir = dir
	return cmd
}

// Every alert is tested firing and not firing by promtool (the test file covers each alert at
// least once with an expected alert and once without); the rules also pass promtool's check.
func TestAlertRulesWithPromtool(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	if out, err := promtool(t, dir, "check", "rules", "genesys-deactivator.rules.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := promtool(t, dir, "test", "rules", "genesys-deactivator.rules.test.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules did not say SUCCESS:\n%s", out)
	}
	// Each alert must be expected to fire somewhere and expected silent somewhere.
	tests := readRuleTests(t, filepath.Join(dir, "genesys-deactivator.rules.test.yml"))
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	runbooks, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readRules(t) {
		if r.Alert == "" {
			continue
		}
		if !strings.Contains(string(runbooks), "\n## "+r.Alert+"\n") {
			t.Errorf("docs/alerts.md has no section \"## %s\" (its runbook)", r.Alert)
		}
		if !fires[r.Alert] {
			t.Errorf("no promtool test expects %s to fire", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("no promtool test expects %s to stay silent", r.Alert)
		}
		if !strings.Contains(r.Annotations["runbook"], "docs/alerts.md#"+strings.ToLower(r.Alert)) {
			t.Errorf("%s: its runbook annotation must point at docs/alerts.md#%s", r.Alert, strings.ToLower(r.Alert))
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s lacks a summary or description", r.Alert)
		}
	}
}
