package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
)

func deadPurgeCommand() *command {
	return &command{
		name: "dead purge", args: "JOB_ID... | --all [--outcome O]", changes: true,
		summary: "Deletes dead letters for good (by their sequence in the dead-letter stream); needs --yes.\n" +
			"Audit events are never deleted. Each deletion publishes an ops event dead_letter_purged.",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.All, "all", false, "delete every dead letter (with --outcome, of that outcome only)")
			fs.StringVar(&o.Outcome, "outcome", "", "with --all: only dead letters of this outcome, such as rejected or conflict")
			fs.BoolVar(&o.Yes, "yes", false, "confirm the deletion; required")
		},
		check: func(o *opts, args []string) error {
			err := checkSelection(o, args)
			if !o.Yes {
				err = errors.Join(err, errors.New("dead purge deletes dead letters for good: add --yes"))
			}
			return err
		},
		run: runDeadPurge,
	}
}

// purgeLine is one dead letter's result with --output json.
type purgeLine struct {
	JobID  string `json:"job_id"`
	Seq    uint64 `json:"seq"`
	Result string `json:"result"` // purged or failed
	Error  string `json:"error,omitempty"`
}

func runDeadPurge(ctx context.Context, s *session, o *opts, ids []string) int {
	targets, code := s.selectDead(ctx, "dead purge", o, ids)
	if targets == nil {
		return code
	}
	stream, err := s.js.Stream(ctx, s.names.DeadStream())
	if err != nil {
		return s.fail("dead purge", err)
	}
	events, err := s.opsPublisher()
	if err != nil {
		return s.fail("dead purge", err)
	}
	for _, e := range targets {
		l := purgeLine{JobID: e.JobID, Seq: e.Seq, Result: "purged"}
		err := stream.DeleteMsg(ctx, e.Seq)
		if err == nil {
			err = s.publishOps(ctx, events, "dead_letter_purged", o.Operator, "purge:"+e.JobID+":"+strconv.FormatUint(e.Seq, 10),
				fmt.Sprintf("%s purged the %s dead letter of job %s", s.identity(o.Operator), e.Outcome, e.JobID),
				map[string]string{"job_id": e.JobID, "outcome": string(e.Outcome), "seq": strconv.FormatUint(e.Seq, 10)})
			if err != nil {
				err = fmt.Errorf("purged, but the ops event was not stored: %w", err)
			}
		} else {
			l.Result = "failed"
		}
		if err != nil {
			l.Error, code = s.explain(err).Error(), ExitFailure
		}
		s.report("dead purge", l.JobID, l.Result, "", l.Error, l)
	}
	return code
}
