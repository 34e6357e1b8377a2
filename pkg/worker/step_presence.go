package worker

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepPresence sets the user's presence Offline, so that colleagues and routing see the leaver
// gone. It reads the presence first: when Genesys already shows Offline (token deletion may do
// that by itself, UNCONFIRMED), there is nothing to do. The Offline definition's id is read once
// per worker (Presence.Definitions), not once per user. Nothing to undo.
var stepPresence = Step{
	Name: "presence", Phase: PhaseClean, Optional: true,
	Permissions: []string{"presence:presenceDefinition:view"}, // the PATCH lists none (UNCONFIRMED)
	Probe: func(ctx context.Context, c *genesys.Client) error {
		id, err := offlineDefinition(ctx, c)
		if err != nil {
			return err
		}
		_, _, err = c.Presence.Set(ctx, genesys.ProbeUserID, id)
		return permitted(err)
	},
	Calls: func(r *Run) int {
		if f, ok := recordedAs[presenceFound](r.Findings(), "presence"); ok && isOffline(f.Presence) {
			return 1
		}
		if _, ok := r.w.offline.get(); ok {
			return 2
		}
		return 3
	},
	Do: setOffline,
}

// presenceFound is what presence records: the presence before, and what it did.
type presenceFound struct {
	Presence     string `json:"presence"` // the system presence, e.g. "Available"
	DefinitionID string `json:"definition_id,omitempty"`
	ModifiedDate string `json:"modified_date,omitempty"`
	Result       string `json:"result"`
}

func setOffline(ctx context.Context, r *Run) error {
	id := r.user.ID
	p, err := Call(ctx, r, func(c *genesys.Client) (*genesys.UserPresence, *genesys.Response, error) {
		return c.Presence.Get(ctx, id)
	})
	if err != nil {
		return err
	}
	found := presenceFound{Presence: p.PresenceDefinition.SystemPresence, DefinitionID: p.PresenceDefinition.ID, ModifiedDate: p.ModifiedDate}
	// A delivery before this one sent the PATCH and did not hear the answer: the presence it
	// recorded before is the before-state.
	if earlier, ok := recordedAs[presenceFound](r.Findings(), "presence"); ok && earlier.Result == presenceSetting && isOffline(found.Presence) {
		earlier.Result = presenceSet
		return r.Found("presence", earlier)
	}
	switch {
	case isOffline(found.Presence):
		found.Result = "nothing to do: already Offline"
		return r.Found("presence", found)
	case r.DryRun():
		found.Result = "would set Offline"
		r.Would("presence", "set the presence from "+found.Presence+" to Offline")
		return r.Found("presence", found)
	}
	offline, err := r.w.offline.id(ctx, r)
	if err != nil {
		return err
	}
	// Recorded before the PATCH: an attempt that fails after it (the answer lost) keeps the
	// presence before in the job's status for the next delivery.
	found.Result = presenceSetting
	if err := r.Found("presence", found); err != nil {
		return err
	}
	if _, err := Call(ctx, r, func(c *genesys.Client) (*genesys.UserPresence, *genesys.Response, error) {
		return c.Presence.Set(ctx, id, offline)
	}); err != nil {
		return err
	}
	found.Result = presenceSet
	return r.Found("presence", found)
}

// What presence records as its result while the PATCH is under way, and once it is answered.
const (
	presenceSetting = "setting Offline"
	presenceSet     = "set Offline"
)

func isOffline(systemPresence string) bool { return strings.EqualFold(systemPresence, "Offline") }

// errNoOffline: the org's presence definitions have none whose system presence is Offline.
var errNoOffline = errors.New("jobs: the org has no presence definition with system presence Offline")

// offlineDefinition reads the presence definitions and returns the id of the Offline one.
func offlineDefinition(ctx context.Context, c *genesys.Client) (string, error) {
	defs, _, err := c.Presence.Definitions(ctx)
	if err != nil {
		return "", err
	}
	return offlineIn(defs)
}

func offlineIn(defs []genesys.PresenceDefinition) (string, error) {
	for _, d := range defs {
		if isOffline(d.SystemPresence) && d.ID != "" {
			return d.ID, nil
		}
	}
	return "", errNoOffline
}

// offlineCache holds the Offline presence definition's id once a job has read it: one call per
// worker lifetime, not per user. A failed read is not kept, so the next job reads again. The zero
// value is empty and ready; it is safe for concurrent use.
type offlineCache struct {
	mu     sync.Mutex
	cached string
}

func (o *offlineCache) get() (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cached, o.cached != ""
}

// id returns the cached id, reading the definitions through the job's Call when none is cached.
// Jobs that miss the cache together may each read it once; the answers are the same.
func (o *offlineCache) id(ctx context.Context, r *Run) (string, error) {
	if id, ok := o.get(); ok {
		return id, nil
	}
	defs, err := Call(ctx, r, func(c *genesys.Client) ([]genesys.PresenceDefinition, *genesys.Response, error) {
		return c.Presence.Definitions(ctx)
	})
	if err != nil {
		return "", err
	}
	id, err := offlineIn(defs)
	if err != nil {
		return "", Stop(audit.OutcomeConflict, err)
	}
	o.mu.Lock()
	o.cached = id
	o.mu.Unlock()
	return id, nil
}
