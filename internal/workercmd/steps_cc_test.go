package workercmd

import (
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// The probes of off_queue, presence, queues and station against the simulator: with the base
// plan's permissions only, the self-check names each step (the routing-status and presence
// PATCH permissions are the simulator's switches, their real ones UNCONFIRMED); with every
// permission, each probe passes (a call aimed at a user that does not exist answers 404, which
// the probe takes as permitted) and changes nothing.
func TestSelfCheckProbesTheContactCenterSteps(t *testing.T) {
	t.Parallel()
	sim := genesyssim.Config{Users: 5, RoutingStatusPermission: "routing:agent:edit", PresencePermission: "presence:userPresence:edit"}
	base := []string{"directory:user:edit", "oauth:token:delete"}
	// reads are the permissions of each step's reads: granted alone, the probe of the change
	// must still name the step.
	reads := map[string][]string{"presence": {"presence:presenceDefinition:view"}, "queues": {"routing:queue:view"},
		"station": {"telephony:otherStationAssociation:view", "telephony:station:disassociate"}}
	for _, name := range []string{"off_queue", "presence", "queues", "station"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			i := slices.IndexFunc(worker.OptionalSteps(), func(s worker.Step) bool { return s.Name == name })
			if i < 0 {
				t.Fatalf("no optional step %s", name)
			}
			step := worker.OptionalSteps()[i]
			b := testbed.New(t, testbed.Config{NoProvision: true, Sim: sim})
			if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, base); err != nil {
				t.Fatal(err)
			}
			c := b.Client()
			err := selfCheck(t.Context(), c, []worker.Step{step}, zaptest.NewLogger(t))
			if err == nil || !strings.Contains(err.Error(), "the step "+name) {
				t.Errorf("self-check without the step's permissions: %v; want the step named", err)
			}
			if reads[name] != nil {
				if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, append(slices.Clone(base), reads[name]...)); err != nil {
					t.Fatal(err)
				}
				err := selfCheck(t.Context(), c, []worker.Step{step}, zaptest.NewLogger(t))
				if err == nil || !strings.Contains(err.Error(), "the step "+name) {
					t.Errorf("self-check with the reads' permissions alone: %v; want the step named", err)
				}
			}
			if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, nil); err != nil {
				t.Fatal(err)
			}
			if err := selfCheck(t.Context(), c, []worker.Step{step}, zaptest.NewLogger(t)); err != nil {
				t.Errorf("self-check with every permission: %v", err)
			}
			for _, r := range b.Sim.Requests() {
				if r.Status >= 200 && r.Status < 300 && !strings.HasPrefix(r.Route, "GET ") && !strings.Contains(r.Route, "oauth") && !strings.Contains(r.Route, "/scim/") {
					t.Errorf("the probe changed something: %s %s answered %d", r.Route, r.Path, r.Status)
				}
			}
		})
	}
}
