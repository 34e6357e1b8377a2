package genesyssim

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeededOrgDeterministic(t *testing.T) {
	t.Parallel()
	a, b := seedOrg(42, 50), seedOrg(42, 50)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(org{})); diff != "" {
		t.Errorf("same seed, different orgs (-a +b):\n%s", diff)
	}
	small := seedOrg(42, 10)
	for i, id := range small.order {
		if diff := cmp.Diff(a.users[a.order[i]], small.users[id]); diff != "" {
			t.Errorf("user %d differs between 10 and 50 users (-50 +10):\n%s", i+1, diff)
		}
	}
	if other := seedOrg(43, 50); other.order[0] == a.order[0] {
		t.Error("seeds 42 and 43 gave the same first user id")
	}
}

func TestSeededOrgStableAcrossRuns(t *testing.T) {
	t.Parallel()
	// Pinned values: a change here breaks tests and benchmarks that rely on a seed's org.
	o := seedOrg(1, 3)
	u := o.users[o.order[0]]
	got := []string{u.ID, u.UserName, u.ExternalID}
	want := []string{"749007a2-9498-4ecd-a7b6-efb47f1f7160", "noor.dubois.1@example.com", "00uz3PalbTGiReVbEpRe"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed 1 user 1 (-want +got):\n%s", diff)
	}
}

func TestSeededOrgDistribution(t *testing.T) {
	t.Parallel()
	o := seedOrg(1, 1000)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	userName := regexp.MustCompile(`^[^.@\s]+\.[^.@\s]+\.\d+@example\.com$`)
	var inactive, masterAdmins, multiDivision, noTokens int
	seen := map[string]bool{}
	for _, id := range o.order {
		u := o.users[id]
		if !uuid.MatchString(u.ID) || !userName.MatchString(u.UserName) || u.ExternalID == "" || seen[u.UserName] {
			t.Fatalf("bad or repeated identity: %+v", u)
		}
		seen[u.UserName] = true
		divs := map[string]map[string]bool{}
		for _, g := range u.Grants {
			if divs[g.RoleName] == nil {
				divs[g.RoleName] = map[string]bool{}
			}
			divs[g.RoleName][g.DivisionName] = true
		}
		if !divs[RoleEmployee]["Home"] {
			t.Fatalf("user %s lacks employee in Home", u.UserName)
		}
		for _, d := range divs {
			if len(d) > 1 {
				multiDivision++
				break
			}
		}
		if !u.Active {
			inactive++
		}
		if divs[RoleMasterAdmin] != nil {
			masterAdmins++
		}
		if u.Tokens == 0 {
			noTokens++
		}
	}
	for name, c := range map[string][2]int{
		"inactive": {inactive, 100}, "master admins": {masterAdmins, 50},
		"multi-division": {multiDivision, 350}, "no tokens": {noTokens, 250},
	} {
		if c[0] < c[1]*6/10 || c[0] > c[1]*14/10 {
			t.Errorf("%s: %d of 1000, want about %d", name, c[0], c[1])
		}
	}
}

func TestArchetypes(t *testing.T) {
	t.Parallel()
	o := seedOrg(5, 4)
	u := func(i int) *User { return o.users[o.order[i]] }
	if !u(0).Active || !cmp.Equal(u(0).Roles(), []string{RoleMasterAdmin, RoleEmployee}) || len(u(0).Grants) != 3 {
		t.Errorf("user 1: %+v, want an active Master Admin in two divisions", u(0))
	}
	if u(1).Active || u(2).Tokens != 0 || !u(2).Active || len(u(3).Grants) != 3 || u(3).Tokens != 3 {
		t.Errorf("archetypes 2-4 wrong: %+v %+v %+v", u(1), u(2), u(3))
	}
}
