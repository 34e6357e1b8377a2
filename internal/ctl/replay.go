package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// maxReplays bounds how many replays of one dead letter the replay command looks for.
const maxReplays = 99

func deadReplayCommand() *command {
	return &command{
		name: "dead replay", args: "JOB_ID... | --all [--outcome O]", changes: true,
		summary: "Publishes the job of each dead letter again as a new job <id>.r1 (.r2, … for later replays) with\n" +
			"replay_of = <id>, the same user, reason, ticket, priority and dry_run, and requested_by = the operator.\n" +
			"Fix the cause first. --all skips dead letters replayed before; naming a job replays it again.\n" +
			"Rejected jobs cannot be replayed (exit status 1). Each replay publishes an ops event dead_letter_replayed.",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.All, "all", false, "replay every dead letter not replayed yet (with --outcome, of that outcome only)")
			fs.StringVar(&o.Outcome, "outcome", "", "with --all: only dead letters of this outcome, such as conflict or exhausted")
		},
		check: checkSelection,
		run:   runDeadReplay,
	}
}

// checkSelection checks the JOB_ID... | --all [--outcome O] choice of replay and purge.
func checkSelection(o *opts, args []string) error {
	switch {
	case o.All && len(args) > 0:
		return errors.New("give job ids or --all, not both")
	case !o.All && len(args) == 0:
		return errors.New("give job ids or --all")
	case !o.All && o.Outcome != "":
		return errors.New("--outcome goes with --all")
	case o.All:
		return checkOutcome(o.Outcome, false, true)
	}
	return checkJobIDs(args, 1)
}

// replayLine is one dead letter's result with --output json.
type replayLine struct {
	JobID       string `json:"job_id"`
	Result      string `json:"result"` // replayed, skipped or failed
	ReplayJobID string `json:"replay_job_id,omitempty"`
	Error       string `json:"error,omitempty"`
}

func runDeadReplay(ctx context.Context, s *session, o *opts, ids []string) int {
	targets, code := s.selectDead(ctx, "dead replay", o, ids)
	if targets == nil {
		return code
	}
	pub, err := jobs.NewPublisher(s.js, s.names)
	if err != nil {
		return s.fail("dead replay", err)
	}
	store, err := jobs.NewStatusStore(ctx, s.js, s.names)
	if err != nil {
		return s.fail("dead replay", err)
	}
	events, err := s.opsPublisher()
	if err != nil {
		return s.fail("dead replay", err)
	}
	for _, e := range targets {
		l := replayLine{JobID: e.JobID, Result: "failed"}
		job, err := e.replayJob()
		if err == nil {
			l.ReplayJobID, err = s.replay(ctx, pub, store, e.JobID, job, o)
		}
		switch {
		case err == nil && l.ReplayJobID == "":
			l.Result, l.Error = "skipped", "replayed before (--all replays each dead letter once; name it to replay it again)"
		case err == nil:
			l.Result = "replayed"
			err = s.publishOps(ctx, events, "dead_letter_replayed", o.Operator, l.ReplayJobID,
				fmt.Sprintf("%s replayed dead letter %s as job %s", s.identity(o.Operator), e.JobID, l.ReplayJobID),
				map[string]string{"job_id": e.JobID, "replay_job_id": l.ReplayJobID, "outcome": string(e.Outcome)})
			if err != nil {
				l.Error = "replayed, but the ops event was not stored: " + s.explain(err).Error()
				code = ExitFailure
			}
		default:
			l.Error, code = s.explain(err).Error(), ExitFailure
		}
		s.report("dead replay", l.JobID, l.Result, l.ReplayJobID, l.Error, l)
	}
	return code
}

// replay publishes job as the next replay of the dead letter oldID and returns the new job's id.
// It takes the first of oldID.r1, .r2, … that has neither a status record nor a job in the jobs
// stream's duplicate window. With --all it returns "" when oldID.r1 exists already.
func (s *session) replay(ctx context.Context, pub *jobs.Publisher, store *jobs.StatusStore, oldID string, job jobs.Job, o *opts) (string, error) {
	job.ReplayOf, job.RequestedBy = oldID, clipRunes(s.identity(o.Operator), jobs.MaxRequestedByLength)
	job.Version, job.RequestedAt = 0, time.Time{} // the publisher sets both: this request is new
	for n := 1; n <= maxReplays; n++ {
		job.ID = replayID(oldID, n)
		_, err := store.Get(ctx, job.ID)
		if err == nil {
			if o.All {
				return "", nil
			}
			continue
		}
		if !errors.Is(err, jobs.ErrNoStatus) {
			return "", err
		}
		res, err := pub.Enqueue(ctx, job)
		if err != nil {
			return "", err
		}
		if !res.Duplicate {
			return job.ID, nil
		}
		if o.All {
			return "", nil
		}
	}
	return "", fmt.Errorf("%s has been replayed %d times already", oldID, maxReplays)
}

// replayID is the id of the n-th replay of job oldID: oldID.r<n>, or, when that would be longer
// than a job id may be, a deterministic id derived from both.
func replayID(oldID string, n int) string {
	id := oldID + ".r" + strconv.Itoa(n)
	if len(id) <= jobs.MaxIDLength {
		return id
	}
	return jobs.DeterministicID("replay", oldID, strconv.Itoa(n), "")
}

// clipRunes shortens s to at most n code points.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
