package workercmd

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// --steps takes step names and the words default, all and none; GENESYS_STEPS the same.
func TestStepsFlag(t *testing.T) {
	all := stepNames(worker.OptionalSteps())
	for _, tt := range []struct {
		args []string
		env  string
		want []string
	}{
		{nil, "", worker.DefaultSteps()},
		{[]string{"--steps", "none"}, "", nil},
		{[]string{"--steps", ""}, "", nil},
		{[]string{"--steps", "all"}, "", all},
		{[]string{"--steps", " default , all "}, "", dedupe(append(worker.DefaultSteps(), all...))},
		{nil, "none", nil},
		{[]string{"--steps", "all"}, "none", all},
	} {
		t.Setenv("GENESYS_STEPS", tt.env)
		if tt.env == "" {
			t.Setenv("GENESYS_STEPS", "default")
		}
		var cfg Config
		if err := newFlagSet(&cfg, io.Discard).Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		got, err := cfg.steps()
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%v with GENESYS_STEPS=%q: %v (%v), want %v", tt.args, tt.env, got, err, tt.want)
		}
	}
	var cfg Config
	fs := newFlagSet(&cfg, io.Discard)
	if u := fs.Lookup("steps").Usage; !strings.Contains(u, "'default' is every step but presence and mfa") || !strings.Contains(u, "env GENESYS_STEPS") {
		t.Errorf("--steps usage: %s", u)
	}
}

// The self-check runs the probe of each enabled step and names the step and the permission it
// lacks.
func TestSelfCheckNamesTheStepsMissingPermission(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{NoProvision: true, Sim: genesyssim.Config{Users: 5, Clients: []genesyssim.Client{{
		ID: genesyssim.DefaultClientID, Secret: genesyssim.DefaultClientSecret, Permissions: []string{"directory:user:edit", "oauth:token:delete"},
	}}}})
	c := b.Client()
	var probed bool
	grants := worker.Step{Name: "grants", Optional: true, Permissions: []string{"authorization:grant:view"},
		Probe: func(ctx context.Context, c *genesys.Client) error {
			probed = true
			_, _, err := c.Authorization.Subject(ctx, genesys.ProbeUserID)
			if errors.Is(err, genesys.ErrNotFound) {
				return nil
			}
			return err
		}}
	noProbe := worker.Step{Name: "quiet", Optional: true}
	err := selfCheck(t.Context(), c, []worker.Step{noProbe, grants}, zaptest.NewLogger(t))
	if !probed || err == nil || !strings.Contains(err.Error(), "the step grants") || !strings.Contains(err.Error(), "the permission authorization:grant:view") {
		t.Errorf("self-check: %v; want the step grants and authorization:grant:view named", err)
	}
	if err := selfCheck(t.Context(), c, []worker.Step{noProbe}, zaptest.NewLogger(t)); err != nil {
		t.Errorf("self-check without the step: %v", err)
	}
}

// With --delete-after the self-check asks for directory:user:delete, with the configured method.
func TestSelfCheckNeedsTheDeletePermission(t *testing.T) {
	t.Parallel()
	for _, method := range []string{worker.DeleteSCIM, worker.DeleteUsers} {
		sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 1, Clients: []genesyssim.Client{
			{ID: "c", Secret: "s", Permissions: []string{"directory:user:edit", "oauth:token:delete"}},
		}})
		c, err := genesys.NewClient(sim.URL, genesys.WithCredentials("c", "s"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{deleteFlags: deleteFlags{DeleteAfter: time.Hour, DeleteMethod: method}, Steps: "none"}
		err = selfCheck(t.Context(), c, cfg.checkedSteps(), zaptest.NewLogger(t))
		if err == nil || !strings.Contains(err.Error(), "directory:user:delete") {
			t.Errorf("%s: self-check without directory:user:delete: %v", method, err)
		}
		if err := sim.SetClientPermissions("c", nil); err != nil {
			t.Fatal(err)
		}
		if err := selfCheck(t.Context(), c, cfg.checkedSteps(), zaptest.NewLogger(t)); err != nil {
			t.Errorf("%s: self-check with every permission: %v", method, err)
		}
	}
}
