package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
)

// driftLeaderKey is the drift watch's lease in the locks bucket (drift.LeaderKey; genesysctl does
// not link the watch, which links the Genesys client).
const driftLeaderKey = "drift.leader"

// driftStatus is what genesysctl drift status reports: the watch's own status, what the watch
// list holds, and who holds the lease.
type driftStatus struct {
	Leader        string           `json:"leader,omitempty"`
	LeaseExpires  time.Time        `json:"lease_expires,omitzero"`
	Status        watchlist.Status `json:"status"`
	Watched       int              `json:"watched"`
	Removed       int              `json:"removed"`
	NeverChecked  int              `json:"never_checked"`
	OldestCheck   time.Time        `json:"oldest_check,omitzero"`
	WithFindings  []findingLine    `json:"with_findings,omitempty"`
	FindingsTotal int              `json:"findings_total"`
}

type findingLine struct {
	UserID         string    `json:"user_id"`
	UserName       string    `json:"user_name,omitempty"`
	JobID          string    `json:"job_id"`
	DeactivatedAt  time.Time `json:"deactivated_at"`
	Findings       int       `json:"findings"`
	ReportedActive bool      `json:"reported_active,omitempty"`
	ReportedToken  time.Time `json:"reported_token,omitzero"`
}

func driftStatusCommand() *command {
	return &command{
		name: "drift status", summary: "Shows the drift watch: the active instance, users watched, checked in the last cycle,\n" +
			"the time for a full cycle, and the users with findings (ops events drift_found).",
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			st, err := s.readDrift(ctx)
			if err != nil {
				return s.fail("drift status", err)
			}
			s.printDrift(st)
			return ExitOK
		},
	}
}

func (s *session) readDrift(ctx context.Context) (driftStatus, error) {
	var out driftStatus
	kv, err := s.js.KeyValue(ctx, s.names.WatchBucket())
	if err != nil {
		return out, fmt.Errorf("open %s: %w", s.names.WatchBucket(), err)
	}
	if e, err := kv.Get(ctx, watchlist.StatusKey); err == nil {
		_ = json.Unmarshal(e.Value(), &out.Status)
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return out, err
	}
	if locks, err := s.js.KeyValue(ctx, s.names.LocksBucket()); err == nil {
		if e, err := locks.Get(ctx, driftLeaderKey); err == nil {
			var l struct {
				Instance string    `json:"instance"`
				Expires  time.Time `json:"expires"`
			}
			if json.Unmarshal(e.Value(), &l) == nil {
				out.Leader, out.LeaseExpires = l.Instance, l.Expires
			}
		}
	}
	w, err := kv.WatchFiltered(ctx, []string{watchlist.EntryFilter}, jetstream.IgnoreDeletes())
	if err != nil {
		return out, err
	}
	defer w.Stop() //nolint:errcheck
	for {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case e := <-w.Updates():
			if e == nil {
				slices.SortFunc(out.WithFindings, func(a, b findingLine) int { return b.DeactivatedAt.Compare(a.DeactivatedAt) })
				return out, nil
			}
			var en watchlist.Entry
			if json.Unmarshal(e.Value(), &en) != nil {
				continue
			}
			if en.Removed {
				out.Removed++
				continue
			}
			out.Watched++
			if en.LastChecked.IsZero() {
				out.NeverChecked++
			} else if out.OldestCheck.IsZero() || en.LastChecked.Before(out.OldestCheck) {
				out.OldestCheck = en.LastChecked
			}
			if en.Findings > 0 {
				out.FindingsTotal += en.Findings
				out.WithFindings = append(out.WithFindings, findingLine{UserID: en.UserID, UserName: en.UserName, JobID: en.JobID,
					DeactivatedAt: en.DeactivatedAt, Findings: en.Findings, ReportedActive: en.ReportedActive, ReportedToken: en.ReportedToken})
			}
		}
	}
}

func (s *session) printDrift(d driftStatus) {
	if s.json {
		s.emit(d)
		return
	}
	now := s.nowFunc()
	w := s.stdout
	switch {
	case d.Leader == "":
		fmt.Fprintln(w, "active instance:  none (no worker runs --drift-watch, or none holds the lease)")
	case !d.LeaseExpires.After(now):
		fmt.Fprintf(w, "active instance:  none; %s's lease expired %s ago\n", d.Leader, now.Sub(d.LeaseExpires).Round(time.Second))
	default:
		fmt.Fprintf(w, "active instance:  %s (lease until %s)\n", d.Leader, d.LeaseExpires.UTC().Format(time.RFC3339))
	}
	st := d.Status
	fmt.Fprintf(w, "users watched:    %d (deactivated in the last %d days; %d never checked yet; %d removed by a reactivation or delete of ours)\n",
		d.Watched, st.Days, d.NeverChecked, d.Removed)
	if !d.OldestCheck.IsZero() {
		fmt.Fprintf(w, "oldest check:     %s (%s ago)\n", d.OldestCheck.UTC().Format(time.RFC3339), now.Sub(d.OldestCheck).Round(time.Second))
	}
	if st.Instance != "" {
		fmt.Fprintf(w, "budget share:     %.4g%% = %.4g calls/min; policy %s\n", st.Share*100, st.CallsPerMinute, st.Policy)
		if !st.CycleStarted.IsZero() && st.CycleStarted.After(st.LastCycleEnded) {
			fmt.Fprintf(w, "cycle under way:  started %s, %d of %d users checked\n", st.CycleStarted.UTC().Format(time.RFC3339), st.CycleChecked, st.CycleUsers)
		}
		if st.LastCycleEnded.IsZero() {
			fmt.Fprintln(w, "last full cycle:  none yet")
		} else {
			fmt.Fprintf(w, "last full cycle:  %d users checked in %s, ended %s\n", st.LastCycleChecked,
				(time.Duration(st.LastCycleSeconds * float64(time.Second))).Round(time.Second), st.LastCycleEnded.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, "full cycle takes: %s at the share (2 calls per user)\n", (time.Duration(st.EstimatedCycleSeconds * float64(time.Second))).Round(time.Second))
		fmt.Fprintf(w, "status written:   %s by %s\n", st.UpdatedAt.UTC().Format(time.RFC3339), st.Instance)
		fmt.Fprintf(w, "reported by it:   %d active again, %d token after revocation (since %s)\n", st.Findings["active_again"],
			st.Findings["token_after_revocation"], st.ActiveSince.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "open findings:    %d reported about %d users still on the list (ops events %s.audit.ops.drift_found)\n",
		d.FindingsTotal, len(d.WithFindings), s.names.EffectivePrefix())
	for _, f := range d.WithFindings {
		what := ""
		if f.ReportedActive {
			what = " active again"
		}
		if !f.ReportedToken.IsZero() {
			what += " token issued " + f.ReportedToken.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %s %s deactivated by %s at %s:%s\n", f.UserID, f.UserName, f.JobID, f.DeactivatedAt.UTC().Format(time.RFC3339), what)
	}
}
