// Package enqueue is the enqueue command: it publishes deactivation jobs for one user given by
// flags or for a batch from a CSV or JSON-lines file, and with --wait follows them to their
// outcomes. cmd/enqueue only calls [Main].
//
// Exit status: 0 when every job was published (and, with --wait, ended deactivated,
// already_inactive or dry_run); 1 when a job ended otherwise or was still pending, when invalid
// rows were skipped (--skip-invalid), or when NATS failed; 2 for bad flags, an unreadable or
// unparsable file, or invalid rows, in which case nothing was published.
package enqueue

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/jobwait"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Exit statuses of Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Main runs the command with args (without the program name) and returns its exit status. ctx
// ends the run early (an interrupt): publishing stops, and --wait reports jobs not yet done as
// pending. Results go to stdout, messages and progress to stderr.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var cfg Config
	fs := NewFlagSet(&cfg, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return ExitOK
		}
		fmt.Fprintln(stderr, "enqueue: run enqueue --help for usage") // flag has printed the error
		return ExitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := cfg.validate(set, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "enqueue: %v\n", err)
		return ExitUsage
	}
	r := &run{cfg: cfg, stdout: stdout, stderr: stderr}
	return r.main(ctx, stdin)
}

// run is one invocation after its flags have been checked.
type run struct {
	cfg            Config
	stdout, stderr io.Writer
	notRows        []skippedLine   // lines of the file that hold no row, repeated under the summary
	sched          *jobs.Scheduler // with --wait: reads the date a scheduled job holds now
	js             jetstream.JetStream
	names          jobs.Names
}

func (r *run) main(ctx context.Context, stdin io.Reader) int {
	in, err := r.cfg.readBatch(stdin)
	if err != nil {
		fmt.Fprintf(r.stderr, "enqueue: %v\n", err)
		return ExitUsage
	}
	rows := in.rows
	r.notRows = in.skipped
	reportSkipped(r.stderr, "enqueue: ", r.notRows)
	todo, skipped, ok := r.check(rows)
	if !ok {
		return ExitUsage
	}
	names := jobs.Names{Prefix: r.cfg.Prefix}
	nc, err := r.cfg.NATS.Connect(nats.Name("genesys-deactivator enqueue"))
	if err != nil {
		fmt.Fprintf(r.stderr, "enqueue: %v\n", err) // natsconn keeps secrets out of its errors
		return ExitFailure
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(r.stderr, "enqueue: %v\n", err)
		return ExitFailure
	}
	r.js, r.names = js, names
	pub, err := jobs.NewPublisher(js, names)
	if err != nil {
		fmt.Fprintf(r.stderr, "enqueue: %v\n", err)
		return ExitFailure
	}
	var kv jetstream.KeyValue
	if r.cfg.Wait { // before publishing: a wait that cannot start must not follow a publish
		if kv, err = js.KeyValue(ctx, names.StatusBucket()); err != nil {
			fmt.Fprintf(r.stderr, "enqueue: --wait: open the job status bucket %s: %v (is the deployment provisioned, may this account read it?)\n", names.StatusBucket(), err)
			return ExitFailure
		}
		if r.sched, err = jobs.NewScheduler(js, names, 0); err != nil {
			fmt.Fprintf(r.stderr, "enqueue: %v\n", err)
			return ExitFailure
		}
	}
	pubs, err := publishRows(ctx, pub, todo, r.rowOut())
	if err != nil {
		n := 0
		for _, p := range pubs {
			if p.err == nil {
				n++
			}
		}
		fmt.Fprintf(r.stderr, "enqueue: publishing stopped after %d of %d jobs: %v\n", n, len(todo), err)
		if !r.cfg.NewIDs {
			fmt.Fprintln(r.stderr, "enqueue: running the same command again is safe: jobs already published are reported as duplicates")
		}
		return ExitFailure
	}
	return r.finish(ctx, kv, rows, pubs, skipped)
}

// rowOut is where per-row publishing lines go: stdout in text mode, stderr when stdout is JSON.
func (r *run) rowOut() io.Writer {
	if r.cfg.Output == OutputJSON {
		return r.stderr
	}
	return r.stdout
}

// check reports invalid rows and repeated requests on stderr and returns the rows to publish and
// how many were skipped. ok is false when nothing may be published.
func (r *run) check(rows []*Row) (todo []*Row, skipped int, ok bool) {
	markDuplicates(rows)
	if r.cfg.NewIDs {
		assignNewIDs(rows)
	}
	for _, row := range rows {
		switch {
		case len(row.Problems) > 0:
			row.reportProblems(r.stderr)
			skipped++
		case row.DuplicateOf != 0:
			fmt.Fprintf(r.stderr, "%s: same request as line %d (job %s); published once\n", row.where(), row.DuplicateOf, row.Job.ID)
		default:
			todo = append(todo, row)
		}
	}
	switch {
	case skipped > 0 && !r.cfg.SkipInvalid:
		fmt.Fprintf(r.stderr, "enqueue: %d of %d %s invalid; nothing published (fix them, or pass --skip-invalid to publish the rest)\n",
			skipped, len(rows), plural(len(rows), "row is", "rows are"))
		return nil, skipped, false
	case len(todo) == 0:
		fmt.Fprintln(r.stderr, "enqueue: no valid rows; nothing published")
		return nil, skipped, false
	case skipped > 0:
		fmt.Fprintf(r.stderr, "enqueue: skipping %d invalid %s (--skip-invalid); publishing %d\n", skipped, plural(skipped, "row", "rows"), len(todo))
	}
	return todo, skipped, true
}

// finish waits for the jobs when asked to, writes the results and returns the exit status.
func (r *run) finish(ctx context.Context, kv jetstream.KeyValue, rows []*Row, pubs []published, skipped int) int {
	var statuses map[string]jobs.Status
	var why map[string]*jobwait.Diagnosis
	if r.cfg.Wait {
		statuses = r.wait(ctx, kv, pubs)
		why = r.whyWaiting(ctx, pubs, statuses)
	}
	results := buildResults(rows, pubs, statuses, r.cfg.Wait)
	for i := range results {
		if d := why[results[i].JobID]; d != nil && results[i].Outcome == OutcomePending {
			results[i].Waiting = d
		}
	}
	switch {
	case r.cfg.Output == OutputJSON:
		writeJSON(r.stdout, results)
	case r.cfg.Wait:
		fmt.Fprintln(r.stdout)
		writeText(r.stdout, results)
		reportSkipped(r.stdout, "", r.notRows)
	default:
		dups := 0
		for _, p := range pubs {
			if p.duplicate {
				dups++
			}
		}
		fmt.Fprintf(r.stdout, "%d %s published, %d of them %s of earlier runs", len(pubs), plural(len(pubs), "job", "jobs"), dups, plural(dups, "a duplicate", "duplicates"))
		if skipped > 0 {
			fmt.Fprintf(r.stdout, "; %d invalid %s skipped", skipped, plural(skipped, "row", "rows"))
		}
		fmt.Fprintln(r.stdout)
		reportSkipped(r.stdout, "", r.notRows)
	}
	return exitStatus(results)
}

// diagnoseTimeout bounds the look-ups that say what the jobs still pending wait for.
const diagnoseTimeout = 15 * time.Second

// whyWaiting says, for each published job --wait saw no end of, what it waits for (see jobwait).
// Nothing when the wait was interrupted: the user asked to stop.
func (r *run) whyWaiting(ctx context.Context, pubs []published, statuses map[string]jobs.Status) map[string]*jobwait.Diagnosis {
	if ctx.Err() != nil || r.js == nil {
		return nil
	}
	var todo []published
	var lanes []string
	for _, p := range pubs {
		if _, ok := statuses[p.row.Job.ID]; !ok {
			todo = append(todo, p)
			if l := jobwait.LaneOf(p.row.Job); !slices.Contains(lanes, l) {
				lanes = append(lanes, l)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, diagnoseTimeout)
	defer cancel()
	fleet := jobwait.ReadFleet(ctx, r.js, r.names, lanes...)
	out := make(map[string]*jobwait.Diagnosis, len(todo))
	for _, p := range todo {
		job := p.row.Job
		var st *jobs.Status
		if got, ok := fleet.Status(ctx, job.ID); ok && got.BelongsTo(job) {
			st = &got
		}
		d := fleet.Explain(ctx, job.ID, st, &job)
		out[job.ID] = &d
	}
	return out
}

// wait follows the published jobs with a progress bar on stderr until all are done, --timeout
// passes or ctx ends.
func (r *run) wait(ctx context.Context, kv jetstream.KeyValue, pubs []published) map[string]jobs.Status {
	ids := make(map[string]jobs.Job, len(pubs))
	for _, p := range pubs {
		// A scheduled job is followed until a worker stored it: its status says the date kept.
		ids[p.row.Job.ID] = p.row.Job
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	bar := newProgress(r.stderr, len(ids))
	bar.draw(true)
	statuses, err := waitDone(ctx, kv, ids, func(st jobs.Status) {
		if st.State == jobs.StateScheduled {
			bar.add(OutcomeScheduled)
			return
		}
		bar.add(st.Outcome)
	})
	bar.finish()
	r.datesKept(ctx, statuses)
	switch {
	case err != nil:
		fmt.Fprintf(r.stderr, "enqueue: --wait: %v\n", err)
	case len(statuses) < len(ids) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		fmt.Fprintf(r.stderr, "enqueue: --wait: %d %s not done after %s; they are still queued or running\n",
			len(ids)-len(statuses), plural(len(ids)-len(statuses), "job", "jobs"), r.cfg.Timeout)
	case len(statuses) < len(ids):
		fmt.Fprintln(r.stderr, "enqueue: --wait: interrupted; the jobs not done are still queued or running")
	}
	return statuses
}
