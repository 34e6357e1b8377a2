package enqueue

import (
	"cmp"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// MaxRows is the most rows one batch may hold: every row is validated before anything is published,
// so the whole batch is held in memory.
const MaxRows = 100_000

// Row is one request: where it came from and the job it becomes.
type Row struct {
	// Line is the physical line of the row in its file (1-based); 0 for a job given by flags.
	Line int
	// Job is the job the row becomes, with its id set.
	Job jobs.Job
	// Problems says why the row is invalid; empty when it is valid.
	Problems []jobs.Problem
	// DuplicateOf is the line of an earlier row of the same file that makes the same request
	// (the same deterministic job id); such a row is published once, for the earlier line.
	DuplicateOf int
	// TerminatedAt is the row's termination time, in an HR termination list ([ReadHR]) only.
	TerminatedAt time.Time
}

// where names the row's origin in messages.
func (r *Row) where() string {
	if r.Line == 0 {
		return "flags"
	}
	return fmt.Sprintf("line %d", r.Line)
}

// label is how per-row messages start: origin, job id and user.
func (r *Row) label() string {
	return r.where() + ": " + r.Job.ID + " " + r.Job.User.Key()
}

// reportProblems writes every problem of an invalid row as "line N: field: problem".
func (r *Row) reportProblems(w io.Writer) {
	for _, p := range r.Problems {
		if p.Field == "" {
			fmt.Fprintf(w, "%s: %s\n", r.where(), p.Message)
		} else {
			fmt.Fprintf(w, "%s: %s: %s\n", r.where(), p.Field, p.Message)
		}
	}
}

// problemText joins a row's problems for one-line output.
func (r *Row) problemText() string {
	var parts []string
	for _, p := range r.Problems {
		parts = append(parts, strings.TrimPrefix(p.Field+": "+p.Message, ": "))
	}
	return strings.Join(parts, "; ")
}

// fields is what one input row says, before the flags' defaults apply. Empty means absent.
type fields struct {
	userID, externalID, userName          string
	reason, ticket, requestedBy, priority string
	notBefore                             string // RFC 3339 with an offset
	terminatedAt                          string // RFC 3339 with an offset; HR lists only
	dryRun                                *bool
	problems                              []jobs.Problem // found while reading, such as a bad dry_run
}

// newRow builds the job a row asks for, with the flags' defaults for what it leaves out, gives it
// its deterministic id and validates it.
func (c *Config) newRow(line int, f fields) *Row {
	j := jobs.Job{
		Version: jobs.Version,
		Action:  jobs.Action(c.Action),
		User: jobs.UserRef{
			ID:         strings.ToLower(f.userID), // as jobs.Decode does, so that the id is stable
			ExternalID: f.externalID,
			UserName:   f.userName,
		},
		Reason:      cmp.Or(f.reason, c.Reason),
		Ticket:      cmp.Or(f.ticket, c.Ticket),
		RequestedBy: cmp.Or(f.requestedBy, c.RequestedBy),
		Priority:    jobs.Priority(strings.ToLower(f.priority)),
		DryRun:      c.DryRun,
		Force:       c.Force,
	}
	if j.Priority == "" {
		j.Priority = jobs.PriorityNormal
		if c.Urgent {
			j.Priority = jobs.PriorityUrgent
		}
	}
	if f.dryRun != nil {
		j.DryRun = *f.dryRun
	}
	j.ID = j.DeterministicID() // not_before is not part of it: a re-send with a new date is the same request
	r := &Row{Line: line, Job: j, Problems: f.problems}
	if nb := cmp.Or(f.notBefore, c.At); nb != "" {
		t, err := jobs.ParseTime(nb)
		if err != nil {
			r.Problems = append(r.Problems, jobs.Problem{Field: "not_before", Message: err.Error() + ", not " + strconv.Quote(clip(nb))})
		}
		r.Job.NotBefore = t
	}
	r.Problems = append(r.Problems, c.hrTime(r, f.terminatedAt)...)
	if err, ok := j.Validate().(*jobs.ValidationError); ok {
		r.Problems = append(r.Problems, err.Problems...)
	}
	return r
}

// randomID returns a new job id in the same form as jobs.DeterministicID: "j-" and 26 base32
// characters (130 random bits).
func randomID() string {
	b := make([]byte, 17)
	rand.Read(b) // never fails (crypto/rand)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	return "j-" + strings.ToLower(enc[:26])
}

// markDuplicates sets DuplicateOf on every valid row that repeats the request of an earlier one.
func markDuplicates(rows []*Row) {
	first := map[string]int{}
	for _, r := range rows {
		if len(r.Problems) > 0 {
			continue
		}
		if line, ok := first[r.Job.ID]; ok {
			r.DuplicateOf = line
			continue
		}
		first[r.Job.ID] = r.Line
	}
}

// assignNewIDs replaces the deterministic id of every row that will be published by a random one.
func assignNewIDs(rows []*Row) {
	for _, r := range rows {
		if len(r.Problems) == 0 && r.DuplicateOf == 0 {
			r.Job.ID = randomID()
		}
	}
}

// parseBool reads a dry_run cell: true, false, yes, no, 1 or 0, in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return false, false
}
