package worker

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepOAuthClients records the OAuth clients the user created and, under the disable policy,
// disables the active ones. Its undo sets the ones it disabled back to Active.
var stepOAuthClients = Step{
	Name: "oauth_clients", Phase: PhaseClean, Optional: true,
	// oauth:client:edit too under the disable policy: a Probe cannot test it without changing a
	// client (the PUT needs a client that exists), so a missing one shows at the first disable,
	// whose error names it.
	Permissions: []string{"oauth:client:view"},
	Probe:       probeOAuthClients,
	Calls: func(r *Run) int {
		rec, _ := recordedAs[oauthRecord](r.Findings(), "oauth_clients")
		n := max(rec.Pages, 1)
		if rec.Policy == OAuthClientsDisable {
			n += 2 * rec.count(genesys.OAuthClientActive) // a GET and a PUT each
		}
		return n
	},
	Do:   oauthClients,
	Undo: restoreOAuthClients,
}

// oauthRecord is what the oauth_clients step records: the clients the user created, as they
// were, and what the step did with each.
type oauthRecord struct {
	Policy  string     `json:"policy"`
	Clients []oauthRef `json:"clients"`
	Pages   int        `json:"pages"` // pages of the org's clients read
	Result  string     `json:"result"`
}

type oauthRef struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	State     string `json:"state,omitempty"` // before the step
	GrantType string `json:"grant_type,omitempty"`
	Result    string `json:"result,omitempty"` // "disabled", "would disable", or why not
}

func (rec oauthRecord) count(state string) int {
	n := 0
	for _, c := range rec.Clients {
		if c.State == state && c.Result != "disabled" {
			n++
		}
	}
	return n
}

func probeOAuthClients(ctx context.Context, c *genesys.Client) error {
	_, _, err := c.OAuthClients.CreatedBy(ctx, genesys.ProbeUserID)
	return permitted(err)
}

func oauthClients(ctx context.Context, r *Run) error {
	userID, policy := r.user.ID, cmp.Or(r.w.cfg.OAuthClientPolicy, OAuthClientsReport)
	var pages int
	clients, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.OAuthClient, []*genesys.Response, error) {
		cs, resps, err := c.OAuthClients.CreatedBy(ctx, userID)
		pages = len(resps)
		return cs, resps, err
	})
	if err != nil {
		return err
	}
	// The states before a delivery before this one disabled some stay in the record: a client
	// recorded Active that is Disabled now was disabled by it.
	rec, _ := recordedAs[oauthRecord](r.Findings(), "oauth_clients")
	rec.Policy, rec.Pages = policy, pages
	for _, c := range clients {
		i := slices.IndexFunc(rec.Clients, func(e oauthRef) bool { return e.ID == c.ID })
		switch {
		case i < 0:
			rec.Clients = append(rec.Clients, oauthRef{ID: c.ID, Name: c.Name, State: c.State, GrantType: c.AuthorizedGrantType})
		case rec.Clients[i].Result == clientPending && c.State == genesys.OAuthClientDisabled:
			rec.Clients[i].Result = "disabled"
		}
	}
	switch {
	case len(rec.Clients) == 0:
		rec.Clients, rec.Result = []oauthRef{}, "no OAuth client created by the user"
		return r.Found("oauth_clients", rec)
	case policy != OAuthClientsDisable:
		rec.Result = fmt.Sprintf("%d reported, not disabled: policy report", len(rec.Clients))
		if r.DryRun() {
			r.Would("oauth_clients", rec.Result)
		}
		return r.Found("oauth_clients", rec)
	case r.DryRun():
		for i := range rec.Clients {
			if rec.Clients[i].State == genesys.OAuthClientActive {
				rec.Clients[i].Result = "would disable"
			}
		}
		rec.Result = fmt.Sprintf("would disable %d of %d", rec.count(genesys.OAuthClientActive), len(rec.Clients))
		if err := r.Found("oauth_clients", rec); err != nil {
			return err
		}
		r.Would("oauth_clients", rec.Result)
		return nil
	}
	for i := range rec.Clients {
		if c := &rec.Clients[i]; c.State == genesys.OAuthClientActive && c.Result == "" {
			c.Result = clientPending
		}
	}
	if err := r.Found("oauth_clients", rec); err != nil { // stored before the changes: a crash keeps the states
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	if err := disableClients(ctx, r, &rec); err != nil {
		_ = r.Found("oauth_clients", rec) // what is done so far, for the next attempt
		return err
	}
	return r.Found("oauth_clients", rec)
}

// disableClients sets each client that was active to Disabled, recording each result.
func disableClients(ctx context.Context, r *Run, rec *oauthRecord) error {
	for i := range rec.Clients {
		c := &rec.Clients[i]
		if c.Result != clientPending {
			continue
		}
		id := c.ID
		_, err := Call(ctx, r, func(gc *genesys.Client) (*genesys.OAuthClient, *genesys.Response, error) {
			return gc.OAuthClients.SetState(ctx, id, genesys.OAuthClientDisabled)
		})
		switch {
		case err == nil:
			c.Result = "disabled"
		case refused(err):
			c.Result = itemRefusal(err)
		default:
			return fmt.Errorf("disable OAuth client %s (the disable policy needs oauth:client:edit): %w", id, err)
		}
	}
	n := 0
	for _, c := range rec.Clients {
		if c.Result == "disabled" {
			n++
		}
	}
	rec.Result = fmt.Sprintf("%d of %d disabled: policy disable", n, len(rec.Clients))
	return nil
}

// clientPending marks a client the step is about to disable.
const clientPending = "disabling"

// restoreOAuthClients sets the clients the step disabled back to Active. A client someone
// deleted since is recorded as not restored.
func restoreOAuthClients(ctx context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[oauthRecord](recorded, "oauth_clients")
	if !ok {
		return nil
	}
	var out undone
	for _, c := range rec.Clients {
		if c.Result != "disabled" {
			continue
		}
		what := "OAuth client " + cmpName(c.Name, c.ID)
		if r.DryRun() {
			r.Would("undo_oauth_clients", "set "+what+" back to Active")
			continue
		}
		id := c.ID
		_, err := Call(ctx, r, func(gc *genesys.Client) (*genesys.OAuthClient, *genesys.Response, error) {
			return gc.OAuthClients.SetState(ctx, id, genesys.OAuthClientActive)
		})
		switch {
		case err == nil:
			out.Restored = append(out.Restored, what)
		case refused(err):
			out.CouldNot = append(out.CouldNot, couldNot{ID: c.ID, Name: c.Name, Reason: itemRefusal(err)})
		default:
			return err
		}
	}
	if len(out.Restored)+len(out.CouldNot) == 0 {
		return nil
	}
	out.Result = fmt.Sprintf("%d of %d set back to Active", len(out.Restored), len(out.Restored)+len(out.CouldNot))
	return r.Found("undo_oauth_clients", out)
}
