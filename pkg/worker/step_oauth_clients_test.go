package worker_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

var clientSeq atomic.Int64 // ids of the OAuth clients tests add

type oauthRec struct {
	Policy  string `json:"policy"`
	Clients []struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		State     string `json:"state"`
		GrantType string `json:"grant_type"`
		Result    string `json:"result"`
	} `json:"clients"`
	Result string   `json:"result"`
	Would  []string `json:"would"`
}

// ownClients makes user the creator of exactly one Active and one Disabled client (the seed's
// are handed to nobody) and returns their ids.
func ownClients(t *testing.T, b *testbed.T, user string) (active, disabled string) {
	t.Helper()
	disown(t, b, user)
	ids := make([]string, 2)
	for i, state := range []string{genesyssim.OAuthClientActive, genesyssim.OAuthClientDisabled} {
		ids[i] = fmt.Sprintf("0a0c0000-0000-4000-8000-%012d", clientSeq.Add(1))
		if err := b.Sim.SetOAuthClient(genesyssim.OAuthClient{ID: ids[i], Name: "Integration " + state, State: state, CreatedBy: user}); err != nil {
			t.Fatal(err)
		}
	}
	return ids[0], ids[1]
}

func disown(t *testing.T, b *testbed.T, user string) {
	t.Helper()
	for _, c := range b.Sim.OAuthClients() {
		if c.CreatedBy == user {
			c.CreatedBy = ""
			if err := b.Sim.SetOAuthClient(c); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func clientState(b *testbed.T, id string) string {
	i := slices.IndexFunc(b.Sim.OAuthClients(), func(c genesyssim.OAuthClient) bool { return c.ID == id })
	if i < 0 {
		return "gone"
	}
	return b.Sim.OAuthClients()[i].State
}

// By default the step reports the clients the leaver created and changes none.
func TestOAuthClientsReported(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"oauth_clients"}})
	users := plainActive(b.Sim)
	leaver, none := users[0].ID, users[1].ID
	active, disabled := ownClients(t, b, leaver)
	disown(t, b, none)

	var rec oauthRec
	eventRecord(t, deactivateAndClean(t, b, leaver, "oauth-report"), "oauth_clients", &rec)
	if rec.Policy != "report" || len(rec.Clients) != 2 || rec.Result != "2 reported, not disabled: policy report" {
		t.Errorf("recorded %+v; want both clients reported under policy report", rec)
	}
	for _, c := range rec.Clients {
		if c.Name == "" || c.State == "" || c.GrantType == "" || c.Result != "" {
			t.Errorf("client recorded %+v; want name, state and grant type, nothing done", c)
		}
	}
	if clientState(b, active) != "Active" || clientState(b, disabled) != "Disabled" {
		t.Errorf("states %s, %s after a report; want Active, Disabled", clientState(b, active), clientState(b, disabled))
	}
	if ev := reactivateEvent(t, b, leaver, "oauth-report-back"); ev.Steps["undo_oauth_clients"] != nil {
		t.Errorf("a reactivation after a report recorded %s", ev.Steps["undo_oauth_clients"])
	}

	rec = oauthRec{}
	eventRecord(t, deactivateAndClean(t, b, none, "oauth-none"), "oauth_clients", &rec)
	if len(rec.Clients) != 0 || rec.Result != "no OAuth client created by the user" {
		t.Errorf("a user who created none: recorded %+v", rec)
	}
}

// With policy disable the step disables the leaver's active clients, records which, and a
// reactivation sets those (and only those) back to Active; a dry run says what it would
// disable, at two calls each, and disables nothing.
func TestOAuthClientsDisabled(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"oauth_clients"}, OAuthClientPolicy: worker.OAuthClientsDisable})
	users := plainActive(b.Sim)
	leaver, dry := users[0].ID, users[1].ID
	active, disabled := ownClients(t, b, leaver)
	dryActive, _ := ownClients(t, b, dry)

	var rec oauthRec
	eventRecord(t, deactivateAndClean(t, b, leaver, "oauth-disable"), "oauth_clients", &rec)
	results := map[string]string{}
	for _, c := range rec.Clients {
		results[c.ID] = c.State + "→" + c.Result
	}
	if rec.Policy != "disable" || results[active] != "Active→disabled" || results[disabled] != "Disabled→" || !strings.Contains(rec.Result, "1 of 2 disabled") {
		t.Errorf("recorded %+v; want the active client disabled, the other left", rec)
	}
	if clientState(b, active) != "Disabled" {
		t.Errorf("client %s is %s after the cleanup", active, clientState(b, active))
	}

	var undo undoRec
	eventRecord(t, reactivateEvent(t, b, leaver, "oauth-disable-back"), "undo_oauth_clients", &undo)
	if len(undo.Restored) != 1 || clientState(b, active) != "Active" || clientState(b, disabled) != "Disabled" {
		t.Errorf("undo recorded %+v; states %s, %s; want only the one it disabled Active again", undo, clientState(b, active), clientState(b, disabled))
	}

	ev := dryRun(t, b, dry, "oauth-dry")
	rec = oauthRec{}
	eventRecord(t, ev, "oauth_clients", &rec)
	if !strings.HasPrefix(rec.Result, "would disable 1 of 2") || len(rec.Would) != 1 {
		t.Errorf("dry run recorded %+v", rec)
	}
	if n := previewCalls(t, ev, "oauth_clients"); n != 3 {
		t.Errorf("preview says %d calls; want 3 (one page, a GET and a PUT for the active client)", n)
	}
	if clientState(b, dryActive) != "Active" {
		t.Errorf("a dry run disabled client %s", dryActive)
	}
}
