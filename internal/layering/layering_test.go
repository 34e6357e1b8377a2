// Package layering checks the import rules between this module's packages: what a producer, the
// relay or an operator's tool links must not drag in the worker, the Genesys client or OAuth2.
package layering

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/offboard-dev/genesys-deactivator/"

// forbidden lists, for packages and commands, the packages none of their dependencies may be.
var forbidden = []struct {
	pkgs   []string
	banned []string
	why    string
}{
	{
		pkgs:   []string{"./cmd/relay", "./cmd/enqueue", "./cmd/ingress", "./pkg/jobs", "./pkg/audit", "./pkg/audit/relay"},
		banned: []string{module + "pkg/genesys", "golang.org/x/oauth2", module + "pkg/worker"},
		why:    "the job contract, the audit model, the relay, the ingress and the producers do not talk to Genesys",
	},
	{
		pkgs:   []string{"./pkg/audit"},
		banned: []string{module + "pkg/audit/relay", module + "pkg/jobs"},
		why:    "the audit event model sits below the relay and the job contract",
	},
	{
		pkgs:   []string{"./pkg/genesys", "./pkg/priority"},
		banned: []string{module + "pkg/jobs", module + "pkg/worker", module + "pkg/budget"},
		why:    "the Genesys client and the priority type sit below the jobs",
	},
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range forbidden {
		cmd := exec.Command("go", append([]string{"list", "-deps"}, rule.pkgs...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", rule.pkgs, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < len(rule.pkgs) {
			t.Fatalf("go list -deps %v listed only %v", rule.pkgs, deps)
		}
		for _, d := range deps {
			if slices.ContainsFunc(rule.banned, func(b string) bool { return d == b || strings.HasPrefix(d, b+"/") }) {
				t.Errorf("%v depend on %s: %s", rule.pkgs, d, rule.why)
			}
		}
	}
}
