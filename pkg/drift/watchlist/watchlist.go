// Package watchlist holds what the drift watch keeps in its KV bucket (jobs.Names.WatchBucket):
// one Entry per watched user under EntryKey(user id), and the watch's Status under StatusKey. It
// sits apart from package drift so that genesysctl reads it without linking the Genesys client.
package watchlist

import (
	"strings"
	"time"
)

// Key layout of the watch bucket.
const (
	// EntryPrefix starts the key of every watched user: user.<Genesys user id>.
	EntryPrefix = "user."
	// EntryFilter is the KV filter of every entry.
	EntryFilter = EntryPrefix + ">"
	// StatusKey holds the active watch's Status.
	StatusKey = "status"
)

// EntryKey is the key of the watched user id.
func EntryKey(userID string) string { return EntryPrefix + strings.ToLower(userID) }

// The kinds of finding.
const (
	// KindActive: the user is active again after our deactivation.
	KindActive = "active_again"
	// KindToken: Genesys issued the user a token after our revocation.
	KindToken = "token_after_revocation"
)

// Entry is one watched user: a user this fleet deactivated (from the audit stream's deactivated
// or already_inactive event), what the watch last saw, and the findings it has reported.
type Entry struct {
	UserID   string `json:"user_id"`
	UserName string `json:"user_name,omitempty"`
	Name     string `json:"name,omitempty"`
	// JobID is the deactivation job; DeactivatedAt when its event was recorded.
	JobID         string    `json:"job_id"`
	DeactivatedAt time.Time `json:"deactivated_at"`
	// TokensRevokedAt is when our revocation was done at the latest (the deactivation event's
	// time): a token issued after it means the user got back in. Zero when the job did not revoke.
	TokensRevokedAt time.Time `json:"tokens_revoked_at,omitzero"`
	// Seq is the audit stream sequence of the event that last changed the entry: an older event
	// delivered again changes nothing.
	Seq uint64 `json:"seq"`
	// Removed is set by a reactivation or delete that this fleet ran (a tombstone, so that a late
	// redelivery of the deactivation does not bring the user back); the cycle skips it.
	Removed bool `json:"removed,omitempty"`

	LastChecked time.Time `json:"last_checked,omitzero"`
	// ReportedActive: an active-again finding was reported and the user has not been seen
	// inactive since; ReportedToken: the latest token issue date reported.
	ReportedActive bool      `json:"reported_active,omitempty"`
	ReportedToken  time.Time `json:"reported_token,omitzero"`
	// Findings counts the findings reported about this deactivation.
	Findings int `json:"findings,omitempty"`
	// RedeactivationJob is the id of the urgent deactivation the watch enqueues (policy
	// redeactivate) for the finding whose fingerprint is RedeactivationFinding: random, so that no
	// producer can publish under it first, and stored before the job is published, so that a
	// retry of the same finding publishes the same job again (a duplicate) and never a second one.
	RedeactivationJob     string `json:"redeactivation_job,omitempty"`
	RedeactivationFinding string `json:"redeactivation_finding,omitempty"`
}

// Status is what the active watch publishes for operators (genesysctl drift status).
type Status struct {
	Instance    string    `json:"instance"`
	ActiveSince time.Time `json:"active_since"`
	UpdatedAt   time.Time `json:"updated_at"`
	Days        int       `json:"days"`
	Share       float64   `json:"share"`
	// CallsPerMinute is the watch's own limit: share × the budget's rate.
	CallsPerMinute float64 `json:"calls_per_minute"`
	Policy         string  `json:"policy"`
	Watched        int     `json:"watched"`
	// The cycle under way: when it started and how many users it has checked.
	CycleStarted time.Time `json:"cycle_started,omitzero"`
	CycleChecked int       `json:"cycle_checked"`
	CycleUsers   int       `json:"cycle_users"`
	// The last full cycle: users checked and how long it took.
	LastCycleEnded   time.Time `json:"last_cycle_ended,omitzero"`
	LastCycleChecked int       `json:"last_cycle_checked"`
	LastCycleSeconds float64   `json:"last_cycle_seconds"`
	// EstimatedCycleSeconds is the time a full cycle of Watched users takes at CallsPerMinute.
	EstimatedCycleSeconds float64 `json:"estimated_cycle_seconds"`
	// Findings counts the findings reported by kind since this instance became active.
	Findings map[string]int `json:"findings,omitempty"`
}
