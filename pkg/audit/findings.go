package audit

import (
	"encoding/json"
	"slices"
)

// Findings is what the steps of a job found and did: the worker records it in the job status as
// the steps go, and the terminal audit event carries it as it is (under unmapped), so that a
// reactivation can read back what a deactivation recorded. A step added later records what it
// found under its name in Steps; the fields here are those of the steps that came first, under
// the JSON names SIEMs already parse. The zero value records nothing. Never put a secret in it.
type Findings struct {
	RolesBefore    []string `json:"roles_before,omitzero"`    // SCIM roles held before the change; nil: unknown, []: none
	TokensRevoked  bool     `json:"tokens_revoked"`           // every token of the user was revoked
	CorrelationIDs []string `json:"correlation_ids,omitzero"` // ININ-Correlation-Id of each Genesys response
	GrantsRemoved  []string `json:"grants_removed,omitzero"`  // grants removed to unblock the change, "role@division"
	GrantsBefore   []Grant  `json:"grants_before,omitzero"`   // the full grants held before the change, when read
	GrantsRestored []string `json:"grants_restored,omitzero"` // grants or roles a reactivation restored, "role@division" or "role"
	QueuesBefore   []Queue  `json:"queues_before,omitzero"`   // the queues the user had joined, when read
	// Verified is the read-back's verdict (the verify step): true when every check of its last
	// round passed. Nil when the step did not run.
	Verified *bool `json:"verified,omitempty"`
	// Verification lists the read-back's checks, every round's, in order (see [Check]).
	Verification []Check `json:"verification,omitzero"`
	// Steps holds what later steps found, by step name: one JSON value each.
	Steps map[string]json.RawMessage `json:"steps,omitempty"`
}

// Limits of the steps' own findings in an event.
const (
	maxSteps    = 32      // entries of Steps
	maxStepSize = 4 << 10 // bytes of one entry
	smallStep   = 256     // bytes of one entry when the event had to shrink
	stepClipped = `"…"`   // what stands for an entry over its limit
)

// MaxStepSize is the most bytes of one step's entry in Steps that an event keeps; a larger entry
// is replaced by "…". A step whose record an undo reads back keeps it within this size.
const MaxStepSize = maxStepSize

// clipped is f bounded for an event: strings clipped, lists capped, step entries over their
// limit replaced by "…". It shares nothing with f that it changed.
func (f Findings) clipped() Findings {
	f.RolesBefore = clipList(f.RolesBefore)
	f.CorrelationIDs = clipList(f.CorrelationIDs)
	f.GrantsRemoved = clipList(f.GrantsRemoved)
	f.GrantsBefore = clipGrants(f.GrantsBefore)
	f.GrantsRestored = clipList(f.GrantsRestored)
	f.QueuesBefore = clipQueues(f.QueuesBefore)
	f.Verification = clipChecks(f.Verification)
	f.Steps = clipSteps(f.Steps, maxStepSize)
	return f
}

// shrink cuts f down further for an event that is still too large.
func (f *Findings) shrink() {
	f.RolesBefore = clipList(f.RolesBefore)[:min(len(f.RolesBefore), 10)]
	f.CorrelationIDs = clipList(f.CorrelationIDs)[:min(len(f.CorrelationIDs), 10)]
	f.GrantsRemoved = clipList(f.GrantsRemoved)[:min(len(f.GrantsRemoved), 10)]
	f.GrantsRestored = clipList(f.GrantsRestored)[:min(len(f.GrantsRestored), 10)]
	f.GrantsBefore = f.GrantsBefore[:min(len(f.GrantsBefore), 10)]
	f.QueuesBefore = f.QueuesBefore[:min(len(f.QueuesBefore), 10)]
	f.Verification = f.Verification[:min(len(f.Verification), 10)]
	f.Steps = clipSteps(f.Steps, smallStep)
}

// clipSteps keeps the first maxSteps entries by name, each at most limit bytes (else "…").
func clipSteps(in map[string]json.RawMessage, limit int) map[string]json.RawMessage {
	if len(in) == 0 {
		return nil
	}
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string]json.RawMessage, min(len(names), maxSteps))
	for _, name := range names[:min(len(names), maxSteps)] {
		v := in[name]
		if len(v) > limit || !json.Valid(v) {
			v = json.RawMessage(stepClipped)
		}
		out[Clip(name, 64)] = v
	}
	return out
}

// Check is one check of the read-back (the verify step): what it read, whether that proves the
// access cut held, and why.
type Check struct {
	// Check names it: "scim_active" (SCIM active must be false), "token_after_revocation" (no
	// token issued since the revocation) or "routing_status" (OFF_QUEUE, when off_queue ran).
	Check string `json:"check"`
	// OK: the check passed.
	OK bool `json:"ok"`
	// Observed is what Genesys answered, such as "active=false" or "lastTokenIssued
	// 2026-03-04T05:06:07.890Z" ("" when the read failed).
	Observed string `json:"observed,omitempty"`
	// Reason says, for people, why the check passed or failed.
	Reason string `json:"reason"`
	// Round is 1 for the first read-back, 2 for the one after a repeated access cut
	// (--on-unverified retry).
	Round int `json:"round"`
}

// clipChecks bounds the recorded checks (a few per round, two rounds at most).
func clipChecks(in []Check) []Check {
	if in == nil {
		return nil
	}
	out := make([]Check, 0, min(len(in), 20))
	for _, c := range in[:min(len(in), 20)] {
		out = append(out, Check{Check: Clip(c.Check, 64), OK: c.OK, Observed: Clip(c.Observed, maxEntry), Reason: Clip(c.Reason, maxEntry), Round: c.Round})
	}
	return out
}
