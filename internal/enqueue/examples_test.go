package enqueue

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// devOrg is the org that the dev worker seeds: the simulator's defaults.
func devOrg(t *testing.T) []genesyssim.User {
	t.Helper()
	s, err := genesyssim.New(genesyssim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Users()
}

func exampleRows(t *testing.T, name string) []*Row {
	t.Helper()
	cfg := Config{Action: string(jobs.ActionDeactivate), RequestedBy: "test", Format: FormatAuto, File: filepath.Join("..", "..", "examples", name)}
	b, err := cfg.readBatch(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.rows
}

// find returns the dev-org user a reference names, as the worker would resolve it.
func find(users []genesyssim.User, ref jobs.UserRef) (genesyssim.User, bool) {
	i := slices.IndexFunc(users, func(u genesyssim.User) bool {
		return !u.Deleted && (ref.ID != "" && strings.EqualFold(u.ID, ref.ID) ||
			ref.ExternalID != "" && u.ExternalID == ref.ExternalID ||
			ref.UserName != "" && strings.EqualFold(u.UserName, ref.UserName))
	})
	if i < 0 {
		return genesyssim.User{}, false
	}
	return users[i], true
}

// TestOffboardingExamplesAreActiveUnprotectedDevUsers pins the plain examples to the dev org:
// each row is valid and names an existing, active user who holds no protected role, so that the
// README's `enqueue --file examples/offboarding.csv --wait` ends with every job deactivated.
func TestOffboardingExamplesAreActiveUnprotectedDevUsers(t *testing.T) {
	t.Parallel()
	users := devOrg(t)
	csvRows, jsonRows := exampleRows(t, "offboarding.csv"), exampleRows(t, "offboarding.jsonl")
	if len(csvRows) < 5 {
		t.Fatalf("offboarding.csv has %d rows, want 5 or more", len(csvRows))
	}
	for _, r := range csvRows {
		if len(r.Problems) > 0 {
			t.Errorf("offboarding.csv %s is invalid: %s", r.where(), r.problemText())
			continue
		}
		u, ok := find(users, r.Job.User)
		switch {
		case !ok:
			t.Errorf("offboarding.csv %s: %s is not in the dev org", r.where(), r.Job.User.Key())
		case !u.Active:
			t.Errorf("offboarding.csv %s: %s is not active", r.where(), u.UserName)
		case slices.Contains(u.Roles(), genesyssim.RoleMasterAdmin):
			t.Errorf("offboarding.csv %s: %s holds the protected role %s", r.where(), u.UserName, genesyssim.RoleMasterAdmin)
		}
	}
	// The JSON-lines file makes the same requests: the same jobs.
	ids := func(rows []*Row) (out []string) {
		for _, r := range rows {
			out = append(out, r.Job.ID)
		}
		return out
	}
	if diff := cmp.Diff(ids(csvRows), ids(jsonRows)); diff != "" {
		t.Errorf("offboarding.jsonl asks for other jobs than offboarding.csv (-csv +jsonl):\n%s", diff)
	}
}

// TestEdgeCaseExamplesHaveTheClaimedProperties checks each row of edge-cases.csv against the dev
// org: the property its comment claims, and so the outcome the run reports.
func TestEdgeCaseExamplesHaveTheClaimedProperties(t *testing.T) {
	t.Parallel()
	users := devOrg(t)
	rows := exampleRows(t, "edge-cases.csv")
	got := map[int]string{}
	for _, r := range rows {
		u, ok := find(users, r.Job.User)
		switch {
		case len(r.Problems) > 0:
			got[r.Line] = "invalid"
		case !ok:
			got[r.Line] = "unknown"
		case slices.Contains(u.Roles(), genesyssim.RoleMasterAdmin):
			got[r.Line] = "protected admin"
		case !u.Active:
			got[r.Line] = "already inactive"
		default:
			got[r.Line] = "active"
		}
	}
	want := map[int]string{10: "already inactive", 11: "unknown", 12: "protected admin", 13: "active", 14: "invalid"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edge-cases.csv rows (-want +got):\n%s", diff)
	}
}
