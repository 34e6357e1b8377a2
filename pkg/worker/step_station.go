package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepStation frees the leaver's phone: it clears the station associated now and the default
// station, recording both. Genesys does not give a default station back on reactivation, so the
// undo does: it sets the recorded default again, unless the station has become someone else's
// (recorded as could-not). Calls: 1 to read, 1 per station cleared.
var stepStation = Step{
	Name: "station", Phase: PhaseClean, Optional: true,
	// Clearing (and setting) the default station takes telephony:plugin:all or telephony:phone:assign.
	Permissions: []string{"telephony:otherStationAssociation:view", "telephony:station:disassociate", "telephony:plugin:all"},
	Probe: func(ctx context.Context, c *genesys.Client) error {
		if _, _, err := c.Stations.Get(ctx, genesys.ProbeUserID); permitted(err) != nil {
			return err
		}
		if _, err := c.Stations.ClearAssociated(ctx, genesys.ProbeUserID); permitted(err) != nil {
			return err
		}
		_, err := c.Stations.ClearDefault(ctx, genesys.ProbeUserID)
		return permitted(err)
	},
	Calls: func(r *Run) int {
		f, _ := recordedAs[stationFound](r.Findings(), "station")
		n := 1
		if f.Associated != nil {
			n++
		}
		if f.Default != nil {
			n++
		}
		return n
	},
	Do:   freeStation,
	Undo: restoreStation,
}

// stationRef names a station in a record.
type stationRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func refOf(s *genesys.StationRef) *stationRef {
	if s == nil || s.ID == "" {
		return nil
	}
	return &stationRef{ID: s.ID, Name: s.Name}
}

// stationFound is what station records: the stations before (the undo reads Default), and what
// it did.
type stationFound struct {
	Associated *stationRef `json:"associated,omitempty"`
	Default    *stationRef `json:"default,omitempty"`
	Result     string      `json:"result"`
}

func freeStation(ctx context.Context, r *Run) error {
	id := r.user.ID
	us, err := Call(ctx, r, func(c *genesys.Client) (*genesys.UserStations, *genesys.Response, error) {
		return c.Stations.Get(ctx, id)
	})
	if err != nil {
		return err
	}
	found := stationFound{Associated: refOf(us.AssociatedStation), Default: refOf(us.DefaultStation)}
	// A delivery before this one may have cleared the default already: what it recorded stays.
	if earlier, ok := recordedAs[stationFound](r.Findings(), "station"); ok {
		found.Associated = cmpRef(found.Associated, earlier.Associated)
		found.Default = cmpRef(found.Default, earlier.Default)
	}
	now := stationFound{Associated: refOf(us.AssociatedStation), Default: refOf(us.DefaultStation)}
	switch {
	case found.Associated == nil && found.Default == nil:
		found.Result = "nothing to do: no station"
		return r.Found("station", found)
	case r.DryRun():
		found.Result = "would clear " + stationWords(now)
		r.Would("station", "clear "+stationWords(now))
		return r.Found("station", found)
	}
	found.Result = "clearing"
	if err := r.Found("station", found); err != nil {
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	if now.Associated != nil {
		if err := stationCall(ctx, r, func(c *genesys.Client) (*genesys.Response, error) { return c.Stations.ClearAssociated(ctx, id) }); err != nil {
			return err
		}
	}
	if now.Default != nil {
		if err := stationCall(ctx, r, func(c *genesys.Client) (*genesys.Response, error) { return c.Stations.ClearDefault(ctx, id) }); err != nil {
			return err
		}
	}
	found.Result = "cleared " + stationWords(found)
	return r.Found("station", found)
}

// stationCall makes one change through Call; not found (nothing left to clear) is done.
func stationCall(ctx context.Context, r *Run, f func(c *genesys.Client) (*genesys.Response, error)) error {
	_, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := f(c)
		return struct{}{}, resp, err
	})
	if errors.Is(err, genesys.ErrNotFound) {
		return nil
	}
	return err
}

func cmpRef(a, b *stationRef) *stationRef {
	if a != nil {
		return a
	}
	return b
}

func stationWords(f stationFound) string {
	switch {
	case f.Associated != nil && f.Default != nil:
		return fmt.Sprintf("the associated station %s and the default station %s", cmpName(f.Associated.Name, f.Associated.ID), cmpName(f.Default.Name, f.Default.ID))
	case f.Associated != nil:
		return "the associated station " + cmpName(f.Associated.Name, f.Associated.ID)
	case f.Default != nil:
		return "the default station " + cmpName(f.Default.Name, f.Default.ID)
	}
	return "nothing"
}

// stationUndone is what undo_station records.
type stationUndone struct {
	Default  *stationRef `json:"default,omitempty"` // the default station set back
	Already  bool        `json:"already,omitempty"` // it was the user's default again already
	CouldNot *couldNot   `json:"could_not,omitempty"`
	Result   string      `json:"result"`
}

// restoreStation, the undo of station, sets the recorded default station again. A user who has a
// default station now keeps it; a station that is now someone else's (Genesys answers 409) or gone
// is recorded as could-not.
func restoreStation(ctx context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[stationFound](recorded, "station")
	if !ok || rec.Default == nil {
		return nil // nothing recorded to give back
	}
	id, want := r.user.ID, rec.Default
	us, err := Call(ctx, r, func(c *genesys.Client) (*genesys.UserStations, *genesys.Response, error) {
		return c.Stations.Get(ctx, id)
	})
	if err != nil {
		return err
	}
	done := stationUndone{Default: want}
	switch cur := refOf(us.DefaultStation); {
	case cur != nil && cur.ID == want.ID:
		done.Already, done.Result = true, "the recorded default station is the user's default already"
		return r.Found("undo_station", done)
	case cur != nil:
		done.Default = nil
		done.CouldNot = &couldNot{ID: want.ID, Name: want.Name, Reason: "the user has another default station now (" + cmpName(cur.Name, cur.ID) + "), which is kept"}
		done.Result = "default station not restored"
		return r.Found("undo_station", done)
	}
	_, err = Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.Stations.SetDefault(ctx, id, want.ID)
		return struct{}{}, resp, err
	})
	switch {
	case errors.Is(err, genesys.ErrConflict):
		done.Default, done.CouldNot = nil, &couldNot{ID: want.ID, Name: want.Name, Reason: reason("the station is now another user's default", err)}
	case errors.Is(err, genesys.ErrNotFound):
		done.Default, done.CouldNot = nil, &couldNot{ID: want.ID, Name: want.Name, Reason: reason("the station no longer exists", err)}
	case err != nil && refused(err):
		done.Default, done.CouldNot = nil, &couldNot{ID: want.ID, Name: want.Name, Reason: reason("Genesys refused to set the default station", err)}
	case err != nil:
		return err
	}
	done.Result = "default station restored"
	if done.CouldNot != nil {
		done.Result = "default station not restored"
	}
	return r.Found("undo_station", done)
}
