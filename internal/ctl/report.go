package ctl

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Report formats (--format).
const (
	reportCSV  = "csv"
	reportJSON = "json"
	reportMD   = "md"
)

// defaultSLA is FedRAMP Moderate PS-4's four hours, the longest a framework names.
const defaultSLA = 4 * time.Hour

// maxListedExceptions bounds the exceptions the summary names one by one (each row names its
// own reason too); the counts cover them all.
const maxListedExceptions = 100

// reportOpts are the report command's flags.
type reportOpts struct {
	From, To string        // --from, --to as given
	from, to time.Time     // parsed
	SLA      time.Duration // --sla
	Format   string        // --format
	Out      string        // --out: a file instead of stdout
}

func reportCommand() *command {
	return &command{
		name: "report", args: "--from T --to T [--sla D] [--format csv|json|md] [--out FILE]",
		summary: "Writes the per-leaver SLA report: one row per deactivation job whose audit event the stream stored in [--from, --to),\n" +
			"then a summary (outcomes, effective time → access cut p50/p95/max, breaches, exceptions). Reads\n" +
			"<prefix>.audit.user.> in stream order and writes rows as it reads them: memory does not grow with the events.\n" +
			"csv holds the rows only (the summary goes to stderr); json is one object per line, the summary last; md is a table\n" +
			"then the summary. Give a year's report a longer --timeout (about 15 s per million events).",
		flags: func(fs *flag.FlagSet, o *opts) {
			r := &o.Report
			fs.StringVar(&r.From, "from", "", "first stored time of the events reported: a time (2026-01-01T00:00:00Z, 2026-01-01) or a duration back from now (720h); required")
			fs.StringVar(&r.To, "to", "", "stored time the report stops before, like --from; required")
			fs.DurationVar(&r.SLA, "sla", defaultSLA, "the policy's time from a leaver's effective time to the access cut")
			fs.StringVar(&r.Format, "format", reportCSV, "csv, json or md")
			fs.StringVar(&r.Out, "out", "", "write the report to this file instead of stdout (--output is the common text|json flag)")
		},
		check: checkReport,
		run:   runReport,
	}
}

func checkReport(o *opts, args []string) error {
	r := &o.Report
	var errs []error
	if len(args) > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", clip(args[0], 64)))
	}
	now := time.Now
	if o.nowFunc != nil {
		now = o.nowFunc
	}
	for _, f := range []struct {
		name, val string
		t         *time.Time
	}{{"--from", r.From, &r.from}, {"--to", r.To, &r.to}} {
		if f.val == "" {
			errs = append(errs, fmt.Errorf("%s is required: a time such as 2026-01-01T00:00:00Z or 2026-01-01, or a duration back from now such as 720h", f.name))
			continue
		}
		t, err := parseSince(f.val, now())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want a time such as 2026-01-01T00:00:00Z or 2026-01-01, or a positive duration back from now such as 720h", f.name, clip(f.val, 64)))
			continue
		}
		*f.t = t
	}
	if !r.from.IsZero() && !r.to.IsZero() && !r.to.After(r.from) {
		errs = append(errs, fmt.Errorf("--to %s is not after --from %s", fmtTime(r.to), fmtTime(r.from)))
	}
	if r.SLA <= 0 {
		errs = append(errs, fmt.Errorf("--sla %s: must be positive", r.SLA))
	}
	if r.Format != reportCSV && r.Format != reportJSON && r.Format != reportMD {
		errs = append(errs, fmt.Errorf("--format %q: want csv, json or md", clip(r.Format, 32)))
	}
	return errors.Join(errs...)
}

// countOnly are the outcomes whose events are never rows nor exceptions: the report counts them
// from the event's subject (<prefix>.audit.user.<outcome>.<user>, which the publisher derives from
// the same outcome as the body) without decoding them, a third of a typical stream.
var countOnly = map[audit.Outcome]bool{audit.OutcomeReactivated: true, audit.OutcomeCleanedUp: true,
	audit.OutcomeCleanupSkipped: true, audit.OutcomeCanceled: true, audit.OutcomeCancelDone: true, audit.OutcomeDeleted: true,
	audit.OutcomeDeleteSkipped: true, audit.OutcomeVerified: true, audit.OutcomeDryRun: true}

// outcomeOf reads the outcome token of a user event's subject after userPrefix
// ("<prefix>.audit.user."); "" when there is none.
func outcomeOf(userPrefix, subject string) audit.Outcome {
	rest, ok := strings.CutPrefix(subject, userPrefix)
	if !ok {
		return ""
	}
	o, _, _ := strings.Cut(rest, ".")
	return audit.Outcome(o)
}

// reportEvent is the part of a user audit event the report reads.
type reportEvent struct {
	ID   string `json:"id"`
	Data struct {
		ActivityID int        `json:"activity_id"`
		Time       int64      `json:"time"` // epoch ms: when the job reached its outcome
		Message    string     `json:"message"`
		User       audit.User `json:"user"`
		Actor      struct {
			User *audit.ActorUser `json:"user"`
		} `json:"actor"`
		Unmapped struct {
			JobID         string        `json:"job_id"`
			Outcome       audit.Outcome `json:"outcome"`
			Ticket        string        `json:"ticket"`
			DryRun        bool          `json:"dry_run"`
			ReplayOf      string        `json:"replay_of"`
			NotBefore     string        `json:"not_before"`
			TokensRevoked bool          `json:"tokens_revoked"`
			Verified      *bool         `json:"verified"`
			LatencyMS     int64         `json:"latency_ms"`
			Error         string        `json:"error"`
			Steps         struct {
				Revoke struct {
					RevokedAt string `json:"revoked_at"`
				} `json:"revoke_tokens"`
			} `json:"steps"`
		} `json:"unmapped"`
	} `json:"data"`
}

// SLA verdicts of a row.
const (
	slaMet       = "met"
	slaBreached  = "breached"
	slaException = "exception" // the job did not cut access: protected, conflict, exhausted, dropped, rejected
	slaNA        = "n/a"       // no account to cut (not_found)
)

// reportRow is one deactivation job in the report.
type reportRow struct {
	Kind          string `json:"kind"` // "row"
	Seq           uint64 `json:"seq"`  // in the audit stream
	EventID       string `json:"event_id"`
	JobID         string `json:"job_id"`
	UserID        string `json:"user_id"`
	UserName      string `json:"user_name"`
	ExternalID    string `json:"external_id"`
	RequestedBy   string `json:"requested_by"`
	Ticket        string `json:"ticket"`
	Effective     string `json:"effective"`       // RFC 3339, ms, UTC
	EffectiveFrom string `json:"effective_from"`  // not_before or published
	AccessCut     string `json:"access_cut"`      // see AccessCutFrom; "" when access was not cut
	AccessCutFrom string `json:"access_cut_from"` // revoked_at (steps.revoke_tokens) or outcome (the event's time)
	TokensRevoked bool   `json:"tokens_revoked"`
	Verified      string `json:"verified"` // yes, no, or "" when the read-back did not run
	Outcome       string `json:"outcome"`
	SLA           string `json:"sla"`              // met, breached, exception, n/a
	CutAfterMS    *int64 `json:"cut_after_ms"`     // effective → access cut
	OverSLAMS     *int64 `json:"over_sla_ms"`      // by how much a breach missed the SLA
	ReplayOf      string `json:"replay_of"`        // a replayed job: the job it replays
	Reason        string `json:"reason,omitempty"` // an exception's or not_found's reason
}

var reportColumns = []string{"seq", "event_id", "job_id", "user_id", "user_name", "external_id", "requested_by", "ticket",
	"effective", "effective_from", "access_cut", "access_cut_from", "tokens_revoked", "verified", "outcome", "sla", "cut_after", "over_sla", "replay_of", "reason"}

func (r *reportRow) cells() []string {
	return []string{strconv.FormatUint(r.Seq, 10), r.EventID, r.JobID, r.UserID, r.UserName, r.ExternalID, r.RequestedBy, r.Ticket,
		r.Effective, r.EffectiveFrom, r.AccessCut, r.AccessCutFrom, strconv.FormatBool(r.TokensRevoked), r.Verified, r.Outcome, r.SLA,
		fmtMS(r.CutAfterMS), fmtMS(r.OverSLAMS), r.ReplayOf, r.Reason}
}

// fmtMS renders a duration in milliseconds as Go does ("1h2m3.5s"); "" for nil.
func fmtMS(ms *int64) string {
	if ms == nil {
		return ""
	}
	return (time.Duration(*ms) * time.Millisecond).String()
}

// cutOutcomes cut the leaver's access: the account is inactive and the tokens revoked.
func cutOutcome(o audit.Outcome) bool {
	return o == audit.OutcomeDeactivated || o == audit.OutcomeAlreadyInactive
}

// exceptionOutcomes are the outcomes the summary lists as exceptions: the leaver may keep access
// (or, held, a delete did not happen).
var exceptionOutcomes = []audit.Outcome{audit.OutcomeProtected, audit.OutcomeConflict, audit.OutcomeExhausted,
	audit.OutcomeDropped, audit.OutcomeRejected, audit.OutcomeHeld, audit.OutcomeUnverified}

// reportException is one exception the summary names.
type reportException struct {
	Seq     uint64 `json:"seq"`
	JobID   string `json:"job_id"`
	User    string `json:"user"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// reportSummary closes the report.
type reportSummary struct {
	Kind     string         `json:"kind"` // "summary"
	From     string         `json:"from"`
	To       string         `json:"to"`
	SLA      string         `json:"sla"`
	SLAMS    int64          `json:"sla_ms"`
	Events   int            `json:"events"`   // user events stored in the window
	Unread   int            `json:"unread"`   // of those, events that did not parse (counted, not reported)
	Rows     int            `json:"rows"`     // deactivation jobs
	Outcomes map[string]int `json:"outcomes"` // every user event in the window, by outcome
	Cut      struct {
		N     int   `json:"n"`
		P50MS int64 `json:"p50_ms"`
		P95MS int64 `json:"p95_ms"`
		MaxMS int64 `json:"max_ms"`
	} `json:"effective_to_cut"`
	Met        int               `json:"met"`
	Breaches   int               `json:"breaches"`
	Verified   int               `json:"read_back_passed"`  // rows whose read-back passed
	Unverified int               `json:"read_back_failed"`  // rows whose read-back failed
	Exceptions map[string]int    `json:"exceptions"`        // by outcome, every user event in the window
	Listed     []reportException `json:"exceptions_listed"` // the first ones, at most 100
	Note       string            `json:"note"`
}

const percentileNote = "p50 and p95 are upper bounds at most 1 % above the true value (a fixed log histogram); max is exact"

// reportWriter writes the rows and the summary in one format.
type reportWriter interface {
	row(r *reportRow) error
	summary(s *reportSummary) error
}

func runReport(ctx context.Context, s *session, o *opts, _ []string) int {
	ro := &o.Report
	// --out: written to a temporary file beside it, renamed into place when complete, so that a
	// failed run never leaves a report that looks whole.
	out, closeOut, discard := s.stdout, func() error { return nil }, func() {}
	if ro.Out != "" {
		f, err := os.CreateTemp(filepath.Dir(ro.Out), "."+filepath.Base(ro.Out)+".*")
		if err != nil {
			fmt.Fprintf(s.stderr, "genesysctl report: --out %s: %v\n", ro.Out, err)
			return ExitFailure
		}
		out, discard = f, func() { f.Close(); os.Remove(f.Name()) }
		closeOut = func() error {
			err := f.Close()
			if err == nil {
				err = os.Rename(f.Name(), ro.Out)
			}
			if err != nil {
				os.Remove(f.Name())
			}
			return err
		}
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	sum := &reportSummary{Kind: "summary", From: fmtTime(ro.from), To: fmtTime(ro.to), SLA: ro.SLA.String(), SLAMS: ro.SLA.Milliseconds(),
		Outcomes: map[string]int{}, Exceptions: map[string]int{}, Listed: []reportException{}, Note: percentileNote}
	var w reportWriter
	switch ro.Format {
	case reportCSV:
		w = newCSVReport(bw)
	case reportJSON:
		w = &jsonReport{w: bw}
	default:
		w = newMDReport(bw, sum)
	}
	var hist durationHist
	var werr error
	userPrefix := strings.TrimSuffix(s.names.UserAuditSubjects(""), ">")
	p := newDecodePipeline(ctx, func(m *scanned, ev *reportEvent, ok bool) bool {
		sum.Events++
		if m.Data == nil { // counted from its subject (see countOnly)
			sum.Outcomes[string(outcomeOf(userPrefix, m.Subject))]++
			return true
		}
		if !ok {
			sum.Unread++
			return true
		}
		row, isRow := reportRowOf(m.Seq, ev, ro.SLA, sum)
		if !isRow {
			return true
		}
		if row.CutAfterMS != nil {
			hist.add(*row.CutAfterMS)
		}
		werr = w.row(row)
		return werr == nil
	})
	err := s.streamScan(p.ctx, s.names.AuditStream(), s.names.UserAuditSubjects(""), ro.from, func(m scanned) bool {
		if !m.Time.Before(ro.to) {
			return false
		}
		if countOnly[outcomeOf(userPrefix, m.Subject)] {
			m.Data = nil
		}
		return p.add(m)
	})
	p.close()
	if werr != nil { // the writer stopped the scan (which then ends canceled): say why
		err = werr
	}
	if err != nil {
		discard()
		return s.fail("report", err)
	}
	sum.Cut.N, sum.Cut.MaxMS = hist.n, hist.max
	sum.Cut.P50MS, sum.Cut.P95MS = hist.quantile(0.50), hist.quantile(0.95)
	err = w.summary(sum)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		discard()
	} else {
		err = closeOut()
	}
	if err != nil {
		return s.fail("report", err)
	}
	if ro.Format == reportCSV { // the csv holds the rows alone, so that it loads as it is
		writeMDSummary(s.stderr, sum)
	}
	return ExitOK
}

// reportRowOf counts ev in the summary and returns its row when it is a deactivation job's.
func reportRowOf(seq uint64, ev *reportEvent, sla time.Duration, sum *reportSummary) (*reportRow, bool) {
	d, u := &ev.Data, &ev.Data.Unmapped
	if u.Outcome.Valid() {
		sum.Outcomes[string(u.Outcome)]++
	} else {
		sum.Outcomes["unknown"]++ // keeps the counts bounded whatever an event says
	}
	user := cmp.Or(d.User.UID, d.User.Name, d.User.UIDAlt)
	if slices.Contains(exceptionOutcomes, u.Outcome) {
		sum.Exceptions[string(u.Outcome)]++
		if len(sum.Listed) < maxListedExceptions {
			sum.Listed = append(sum.Listed, reportException{Seq: seq, JobID: u.JobID, User: user, Outcome: string(u.Outcome),
				Reason: clip(cmp.Or(u.Error, d.Message), 300)})
		}
	}
	// A deactivation job's event is an Account Change "Disable" (activity 5); a dry run changed nothing.
	if d.ActivityID != int(audit.ActivityDisable) || u.DryRun {
		return nil, false
	}
	outcomeAt := time.UnixMilli(d.Time).UTC()
	row := &reportRow{Kind: "row", Seq: seq, EventID: ev.ID, JobID: u.JobID, UserID: d.User.UID, UserName: d.User.Name,
		ExternalID: d.User.UIDAlt, Ticket: u.Ticket, TokensRevoked: u.TokensRevoked, Outcome: string(u.Outcome), ReplayOf: u.ReplayOf}
	if d.User.TypeID == 0 { // "unknown" stands for no identifier
		row.UserName = ""
	}
	if d.Actor.User != nil {
		row.RequestedBy = d.Actor.User.Name
	}
	effective, from := outcomeAt.Add(-time.Duration(u.LatencyMS)*time.Millisecond), "published"
	if nb, err := time.Parse(time.RFC3339Nano, u.NotBefore); err == nil && u.NotBefore != "" {
		effective, from = nb.UTC(), "not_before"
	}
	row.Effective, row.EffectiveFrom = fmtMillis(effective), from
	if u.Verified != nil {
		row.Verified = map[bool]string{true: "yes", false: "no"}[*u.Verified]
		if *u.Verified {
			sum.Verified++
		} else {
			sum.Unverified++
		}
	}
	switch {
	case cutOutcome(u.Outcome):
		// The access cut: the token revocation, which follows the deactivation's PATCH, as the
		// worker recorded it; else (an event from before the step recorded it) the outcome.
		cut, cutFrom := outcomeAt, "outcome"
		// data.time has milliseconds, revoked_at nanoseconds: compare them at the event's precision.
		if at, err := time.Parse(time.RFC3339Nano, u.Steps.Revoke.RevokedAt); err == nil && !at.Truncate(time.Millisecond).After(outcomeAt) {
			cut, cutFrom = at.UTC().Truncate(time.Millisecond), "revoked_at"
		}
		row.AccessCut, row.AccessCutFrom = fmtMillis(cut), cutFrom
		after := cut.Sub(effective).Milliseconds()
		row.CutAfterMS = &after
		if over := after - sla.Milliseconds(); over > 0 {
			row.SLA, row.OverSLAMS = slaBreached, &over
			sum.Breaches++
		} else {
			row.SLA = slaMet
			sum.Met++
		}
	case u.Outcome == audit.OutcomeNotFound:
		row.SLA, row.Reason = slaNA, clip(cmp.Or(u.Error, d.Message), 300)
	default:
		row.SLA, row.Reason = slaException, clip(cmp.Or(u.Error, d.Message), 300)
	}
	sum.Rows++
	return row, true
}

// fmtMillis renders t as the audit events do: RFC 3339, milliseconds, UTC.
func fmtMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// durationHist is a fixed histogram of non-negative durations in milliseconds: bucket 0 holds 0
// (and anything negative), bucket i ≥ 1 holds [g^(i-1), g^i) with g = 1.01, so that a quantile
// read as its bucket's upper bound is at most 1 % high. Its size does not depend on the count.
type durationHist struct {
	buckets [histBuckets]uint64
	n       int
	max     int64
}

const (
	histGrowth  = 1.01
	histBuckets = 2600 // 1.01^2599 ms is about 5,000 years
)

var logGrowth = math.Log(histGrowth)

func (h *durationHist) add(ms int64) {
	h.n++
	if h.n == 1 || ms > h.max {
		h.max = ms
	}
	i := 0
	if ms > 0 {
		i = min(1+int(math.Log(float64(ms))/logGrowth), histBuckets-1)
	}
	h.buckets[i]++
}

// quantile returns the q-quantile's bucket upper bound, never above the maximum; 0 when empty.
func (h *durationHist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.buckets {
		seen += c
		if seen >= max(rank, 1) {
			if i == 0 {
				return min(0, h.max)
			}
			return min(int64(math.Ceil(math.Pow(histGrowth, float64(i)))), h.max)
		}
	}
	return h.max
}

// csvReport writes the rows as CSV (RFC 4180) under a header row.
type csvReport struct {
	w      *csv.Writer
	header bool
}

func newCSVReport(w io.Writer) *csvReport { return &csvReport{w: csv.NewWriter(w)} }

func (c *csvReport) row(r *reportRow) error {
	if !c.header {
		c.header = true
		_ = c.w.Write(reportColumns)
	}
	cells := r.cells()
	for i, v := range cells {
		cells[i] = csvSafe(v)
	}
	_ = c.w.Write(cells)
	return c.w.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (CSV injection, OWASP): a text
// that starts with = + - @, a tab or a carriage return gets a leading apostrophe, which
// spreadsheets show as text. Reasons, tickets and requester names come from producers, and
// through the ingress from IdPs and HR systems. A number (a negative one) is left alone.
func csvSafe(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

func (c *csvReport) summary(*reportSummary) error {
	if !c.header {
		c.header = true
		_ = c.w.Write(reportColumns)
	}
	c.w.Flush()
	return c.w.Error()
}

// jsonReport writes one JSON object per line: the rows, then the summary.
type jsonReport struct{ w io.Writer }

func (j *jsonReport) write(v any) error {
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (j *jsonReport) row(r *reportRow) error         { return j.write(r) }
func (j *jsonReport) summary(s *reportSummary) error { return j.write(s) }

// mdReport writes a Markdown document: a title, the table of rows as they come, the summary.
type mdReport struct {
	w       io.Writer
	started bool
	sum     *reportSummary
}

func newMDReport(w io.Writer, sum *reportSummary) *mdReport { return &mdReport{w: w, sum: sum} }

func (m *mdReport) start() error {
	if m.started {
		return nil
	}
	m.started = true
	_, err := fmt.Fprintf(m.w, "# Leavers' access removal: %s to %s\n\nSLA: access cut within %s of the effective time.\n\n| %s |\n|%s\n",
		m.sum.From, m.sum.To, m.sum.SLA, strings.Join(reportColumns, " | "), strings.Repeat("---|", len(reportColumns)))
	return err
}

func (m *mdReport) row(r *reportRow) error {
	if err := m.start(); err != nil {
		return err
	}
	cells := r.cells()
	for i, c := range cells {
		cells[i] = mdCell(c)
	}
	_, err := fmt.Fprintf(m.w, "| %s |\n", strings.Join(cells, " | "))
	return err
}

func (m *mdReport) summary(s *reportSummary) error {
	if err := m.start(); err != nil {
		return err
	}
	fmt.Fprintln(m.w)
	return writeMDSummary(m.w, s)
}

// mdCell escapes a table cell: pipes, backslashes and line breaks.
func mdCell(s string) string {
	if !strings.ContainsAny(s, "|\\\r\n") {
		return s
	}
	return strings.NewReplacer("\\", "\\\\", "|", "\\|", "\r", " ", "\n", " ").Replace(s)
}

// writeMDSummary writes the summary as Markdown.
func writeMDSummary(w io.Writer, s *reportSummary) error {
	ms := func(v int64) string { return (time.Duration(v) * time.Millisecond).String() }
	var b strings.Builder
	fmt.Fprintf(&b, "## Summary\n\n")
	fmt.Fprintf(&b, "- Window: %s to %s (the audit stream's stored time); SLA %s\n", s.From, s.To, s.SLA)
	fmt.Fprintf(&b, "- Audit events read: %d (unreadable: %d); deactivation jobs (rows): %d\n", s.Events, s.Unread, s.Rows)
	fmt.Fprintf(&b, "- Access cut: %d (SLA met %d, breached %d); effective → access cut p50 %s, p95 %s, max %s\n",
		s.Cut.N, s.Met, s.Breaches, ms(s.Cut.P50MS), ms(s.Cut.P95MS), ms(s.Cut.MaxMS))
	fmt.Fprintf(&b, "- Read-back: verified %d, failed %d\n", s.Verified, s.Unverified)
	fmt.Fprintf(&b, "- Outcomes:%s\n", mdCounts(s.Outcomes, audit.Outcomes))
	fmt.Fprintf(&b, "- Exceptions:%s\n", mdCounts(s.Exceptions, exceptionOutcomes))
	for _, e := range s.Listed {
		fmt.Fprintf(&b, "  - seq %d, job %s, user %s: %s — %s\n", e.Seq, mdCell(e.JobID), mdCell(e.User), e.Outcome, mdCell(e.Reason))
	}
	if n := sumCounts(s.Exceptions); n > len(s.Listed) {
		fmt.Fprintf(&b, "  - and %d more (the rows name each one's reason)\n", n-len(s.Listed))
	}
	fmt.Fprintf(&b, "- Note: %s\n", s.Note)
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCounts lists the non-zero counts in the order of order, " none" when all are zero.
func mdCounts(counts map[string]int, order []audit.Outcome) string {
	var b strings.Builder
	for _, o := range order {
		if n := counts[string(o)]; n > 0 {
			fmt.Fprintf(&b, " %s %d,", o, n)
		}
	}
	if n := counts["unknown"]; n > 0 { // an outcome this build does not know
		fmt.Fprintf(&b, " unknown %d,", n)
	}
	if b.Len() == 0 {
		return " none"
	}
	return strings.TrimSuffix(b.String(), ",")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// streamBuffer is how many messages streamScan keeps requested ahead of the reader: enough to
// hide the round trips, a few MiB at most (an event is at most 64 KiB, typically 2 KiB).
const streamBuffer = 512

// streamScan is [session.scan] for long reads: the same one ephemeral, ack-less consumer, read
// through a continuous pull (jetstream's Messages) that keeps streamBuffer messages requested
// ahead, instead of one Fetch round trip per batch. It calls fn in stream order until fn returns
// false or the last message matching when it began has been read.
func (s *session) streamScan(ctx context.Context, stream, filter string, start time.Time, fn func(scanned) bool) error {
	cons, closeScan, err := s.openScan(ctx, "genesysctl report", stream, filter, start)
	if err != nil {
		return err
	}
	defer closeScan()
	if cons.CachedInfo().NumPending == 0 {
		return nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(streamBuffer))
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			continue
		}
		if !fn(scanned{Seq: meta.Sequence.Stream, Subject: msg.Subject(), Time: meta.Timestamp, Data: msg.Data()}) || meta.NumPending == 0 {
			return nil
		}
	}
}

// decodeBatch is how many events one decoder takes at a time.
const decodeBatch = 128

// decodePipeline decodes the events of a scan on every CPU and hands them, in stream order, to
// one function on one goroutine. At most a few batches are in flight, so memory stays bounded.
type decodePipeline struct {
	ctx    context.Context
	cancel context.CancelFunc
	handle func(m *scanned, ev *reportEvent, ok bool) bool
	cur    *eventBatch
	work   chan *eventBatch // to the decoders
	order  chan *eventBatch // to the handler, in stream order
	done   chan struct{}    // closed when the handler has seen the last batch
}

type eventBatch struct {
	in    []scanned
	out   []reportEvent
	ok    []bool
	ready chan struct{}
}

// newDecodePipeline starts the decoders and the handler. When handle returns false the
// pipeline's ctx is canceled and the remaining events are dropped.
func newDecodePipeline(ctx context.Context, handle func(m *scanned, ev *reportEvent, ok bool) bool) *decodePipeline {
	workers := max(runtime.GOMAXPROCS(0), 1)
	p := &decodePipeline{handle: handle, work: make(chan *eventBatch, workers), order: make(chan *eventBatch, 2*workers), done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(ctx)
	for range workers {
		go func() {
			for b := range p.work {
				b.out, b.ok = make([]reportEvent, len(b.in)), make([]bool, len(b.in))
				for i := range b.in {
					b.ok[i] = b.in[i].Data != nil && json.Unmarshal(b.in[i].Data, &b.out[i]) == nil
				}
				close(b.ready)
			}
		}()
	}
	go func() {
		defer close(p.done)
		stopped := false
		for b := range p.order {
			<-b.ready
			for i := range b.in {
				if !stopped && !p.handle(&b.in[i], &b.out[i], b.ok[i]) {
					stopped = true
					p.cancel()
				}
			}
		}
	}()
	return p
}

// add queues m; false once the handler has stopped.
func (p *decodePipeline) add(m scanned) bool {
	if p.ctx.Err() != nil {
		return false
	}
	if p.cur == nil {
		p.cur = &eventBatch{in: make([]scanned, 0, decodeBatch), ready: make(chan struct{})}
	}
	p.cur.in = append(p.cur.in, m)
	if len(p.cur.in) == decodeBatch {
		p.flush()
	}
	return true
}

func (p *decodePipeline) flush() {
	if p.cur == nil {
		return
	}
	p.order <- p.cur
	p.work <- p.cur
	p.cur = nil
}

// close hands over the last batch and waits until the handler has seen everything.
func (p *decodePipeline) close() {
	p.flush()
	close(p.work)
	close(p.order)
	<-p.done
	p.cancel()
}
