package enqueue_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// A dry run of the example batch against a worker with the default contact-center steps is a
// preview: each row lists the steps that would run, what each would change and its calls, and
// the calls of the whole real run; nothing changes in Genesys.
func TestDryRunPreview(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	b.Worker(worker.Config{Steps: worker.DefaultSteps(), Protect: worker.Protection{Roles: []string{genesyssim.RoleMasterAdmin}}})
	before := b.Sim.Users()
	agents := map[string]genesyssim.AgentState{}
	for _, u := range before {
		agents[u.ID], _ = b.Sim.Agent(u.ID)
	}

	r := b.run(t, "", "--file", example("offboarding.csv"), "--dry-run", "--wait", timeout, "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var withChanges int
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var res enqueue.Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if res.Outcome != audit.OutcomeDryRun || res.Preview == nil {
			t.Fatalf("line %d: outcome %s, preview %v", res.Line, res.Outcome, res.Preview)
		}
		var names []string
		sum := 0
		for _, s := range res.Preview.Steps {
			names = append(names, s.Name)
			sum += s.Calls
			if len(s.Would) > 0 {
				withChanges++
			}
		}
		if got, want := strings.Join(names, ","), strings.Join(worker.DefaultSteps(), ","); got != want {
			t.Errorf("line %d: steps %s, want %s in plan order", res.Line, got, want)
		}
		// The whole run costs more than its optional steps: the resolve, the PATCH, the revocation
		// and the cleanup job's resolve come on top.
		if res.Preview.Calls < sum+3 {
			t.Errorf("line %d: %d calls in all for steps costing %d", res.Line, res.Preview.Calls, sum)
		}
	}
	if withChanges == 0 {
		t.Error("no step of any example row would change anything; the example users are agents with queues and stations")
	}
	for _, u := range before {
		after, _ := b.Sim.User(u.ID)
		a, _ := b.Sim.Agent(u.ID)
		if after.Active != u.Active || after.Version != u.Version || !reflect.DeepEqual(a, agents[u.ID]) {
			t.Errorf("user %s changed by a dry run", u.UserName)
		}
	}

	// The text output shows the same preview under each row.
	r = b.run(t, "", "--file", example("offboarding.csv"), "--dry-run", "--wait", timeout)
	if r.code != 0 || strings.Count(r.stdout, ": dry_run\n") != 6 || strings.Count(r.stdout, "    in all ") != 6 ||
		!strings.Contains(r.stdout, "    off_queue ") {
		t.Errorf("text output: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
