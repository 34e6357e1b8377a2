package worker

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepMFA deletes the user's MFA verifiers, so that an enrolled device cannot complete a
// sign-in should the account come back, and records each. Nothing can be restored: a returning
// user enrols again, and the undo says so.
var stepMFA = Step{
	Name: "mfa", Phase: PhaseClean, Optional: true,
	Permissions: []string{"mfa:verifier:view", "mfa:verifier:delete"},
	Probe:       probeMFA,
	Calls: func(r *Run) int {
		rec, _ := recordedAs[mfaRecord](r.Findings(), "mfa")
		n := 1 // the list, then a delete each
		for _, v := range rec.Verifiers {
			if v.Result != "deleted" {
				n++
			}
		}
		return n
	},
	Do:   deleteVerifiers,
	Undo: mfaNotRestored,
}

// mfaRecord is what the mfa step records: the user's verifiers and what became of each.
type mfaRecord struct {
	Verifiers []verifierRef `json:"verifiers"`
	Result    string        `json:"result"`
}

type verifierRef struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type,omitempty"`
	Result string `json:"result,omitempty"` // "deleted", "would delete", or why not
}

func probeMFA(ctx context.Context, c *genesys.Client) error {
	if _, _, err := c.Users.Verifiers(ctx, genesys.ProbeUserID); permitted(err) != nil {
		return err
	}
	_, err := c.Users.DeleteVerifier(ctx, genesys.ProbeUserID, genesys.ProbeUserID)
	return permitted(err)
}

func deleteVerifiers(ctx context.Context, r *Run) error {
	userID := r.user.ID
	vs, err := Call(ctx, r, func(c *genesys.Client) ([]genesys.Verifier, *genesys.Response, error) {
		return c.Users.Verifiers(ctx, userID)
	})
	if err != nil {
		return err
	}
	// Verifiers a delivery before this one deleted stay in the record: those it was deleting
	// that are gone now are deleted.
	rec, _ := recordedAs[mfaRecord](r.Findings(), "mfa")
	for i := range rec.Verifiers {
		if !slices.ContainsFunc(vs, func(v genesys.Verifier) bool { return v.ID == rec.Verifiers[i].ID }) && rec.Verifiers[i].Result == verifierPending {
			rec.Verifiers[i].Result = "deleted"
		}
	}
	var todo []int
	for _, v := range vs {
		i := slices.IndexFunc(rec.Verifiers, func(e verifierRef) bool { return e.ID == v.ID })
		if i < 0 {
			rec.Verifiers = append(rec.Verifiers, verifierRef{ID: v.ID, Name: v.Name, Type: v.Type})
			i = len(rec.Verifiers) - 1
		}
		rec.Verifiers[i].Result = verifierPending
		todo = append(todo, i)
	}
	switch {
	case len(rec.Verifiers) == 0:
		rec.Verifiers, rec.Result = []verifierRef{}, "no MFA verifier enrolled"
		return r.Found("mfa", rec)
	case r.DryRun():
		for _, i := range todo {
			rec.Verifiers[i].Result = "would delete"
		}
		rec.Result = fmt.Sprintf("would delete %d MFA verifiers", len(todo))
		if err := r.Found("mfa", rec); err != nil {
			return err
		}
		r.Would("mfa", rec.Result)
		return nil
	}
	if err := r.Found("mfa", rec); err != nil { // stored before the deletes: a crash keeps the list
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	for _, i := range todo {
		id := rec.Verifiers[i].ID
		_, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
			resp, err := c.Users.DeleteVerifier(ctx, userID, id)
			return struct{}{}, resp, err
		})
		switch {
		case err == nil:
			rec.Verifiers[i].Result = "deleted"
		case refused(err):
			rec.Verifiers[i].Result = itemRefusal(err)
		default:
			_ = r.Found("mfa", rec) // what is done so far, for the next attempt
			return err
		}
	}
	n := 0
	for _, v := range rec.Verifiers {
		if v.Result == "deleted" {
			n++
		}
	}
	rec.Result = fmt.Sprintf("%d MFA verifiers deleted", n)
	return r.Found("mfa", rec)
}

// verifierPending marks a verifier the step is about to delete.
const verifierPending = "deleting"

// mfaNotRestored says, in a reactivation of a user whose verifiers the step deleted, that they
// are not restored.
func mfaNotRestored(_ context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[mfaRecord](recorded, "mfa")
	if !ok {
		return nil
	}
	var gone []couldNot
	for _, v := range rec.Verifiers {
		if v.Result == "deleted" {
			gone = append(gone, couldNot{ID: v.ID, Name: v.Name, Reason: "a deleted MFA verifier cannot be restored; the user enrols again"})
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return r.Found("undo_mfa", undone{CouldNot: gone, Result: "nothing restored: the user enrols in MFA again"})
}
