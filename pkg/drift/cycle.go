package drift

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/lease"
)

// item is one entry as the cycle read it, with its revision for the compare-and-set.
type item struct {
	e   watchlist.Entry
	rev uint64
}

// load reads every entry of the watch list.
func (w *Watch) load(ctx context.Context) ([]item, error) {
	kw, err := w.list.WatchFiltered(ctx, []string{watchlist.EntryFilter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read the watch list: %w", err)
	}
	defer kw.Stop() //nolint:errcheck
	var out []item
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-kw.Updates():
			if !ok {
				return nil, errors.New("read the watch list: the watcher stopped")
			}
			if e == nil { // every current value has been delivered
				return out, nil
			}
			var it item
			if json.Unmarshal(e.Value(), &it.e) == nil {
				it.rev = e.Revision()
				out = append(out, it)
			}
		}
	}
}

// cycle checks every live entry once, oldest check first, and drops those older than Days.
func (w *Watch) cycle(ctx context.Context, l *lease.Held) error {
	began := w.now()
	items, err := w.load(ctx)
	if err != nil {
		return err
	}
	cutoff := began.AddDate(0, 0, -w.cfg.Days)
	live := items[:0]
	for _, it := range items {
		if it.e.DeactivatedAt.Before(cutoff) {
			_ = w.list.Delete(ctx, watchlist.EntryKey(it.e.UserID), jetstream.LastRevision(it.rev))
			continue
		}
		if !it.e.Removed {
			live = append(live, it)
		}
	}
	slices.SortStableFunc(live, func(a, b item) int {
		if c := a.e.LastChecked.Compare(b.e.LastChecked); c != 0 {
			return c
		}
		return a.e.DeactivatedAt.Compare(b.e.DeactivatedAt)
	})
	w.cfg.Observer.Watched(len(live))
	w.mu.Lock()
	w.status.Watched, w.status.CycleStarted, w.status.CycleUsers, w.status.CycleChecked = len(live), began.UTC(), len(live), 0
	w.status.EstimatedCycleSeconds = float64(len(live)) * callsPerCheck / w.CallsPerMinute() * 60
	w.mu.Unlock()
	w.writeStatus(ctx)
	lastStatus := w.now()
	for _, it := range live {
		if !w.now().Before(l.Valid()) {
			return errLeaseLapsed
		}
		if err := w.check(ctx, l, it); err != nil {
			if ctx.Err() != nil || errors.Is(err, errLeaseLapsed) {
				return err
			}
			w.log.Warn("drift check failed; the user is checked again next cycle", zap.String("user_id", it.e.UserID), zap.Error(err))
		}
		w.mu.Lock()
		w.status.CycleChecked++
		w.mu.Unlock()
		if w.now().Sub(lastStatus) >= w.cfg.StatusEvery {
			w.writeStatus(ctx)
			lastStatus = w.now()
		}
	}
	d := w.now().Sub(began)
	w.mu.Lock()
	w.status.LastCycleEnded, w.status.LastCycleChecked, w.status.LastCycleSeconds = w.now().UTC(), w.status.CycleChecked, d.Seconds()
	w.mu.Unlock()
	w.writeStatus(ctx)
	w.cfg.Observer.CycleDone(d)
	return nil
}

// callsPerCheck is what one check costs: the platform read and the SCIM read (a finding adds an
// audit query).
const callsPerCheck = 2

func (w *Watch) writeStatus(ctx context.Context) {
	w.mu.Lock()
	w.status.UpdatedAt = w.now().UTC()
	data, _ := json.Marshal(w.status)
	w.mu.Unlock()
	if _, err := w.list.Put(ctx, watchlist.StatusKey, data); err != nil && ctx.Err() == nil {
		w.log.Warn("drift: write the status", zap.Error(err))
	}
}

// call waits for the watch's own limiter, then runs f with a context that ends when the lease
// could lapse.
func (w *Watch) call(ctx context.Context, l *lease.Held, f func(context.Context) error) error {
	if err := w.limiter.Wait(ctx); err != nil {
		return err
	}
	cctx, cancel := context.WithDeadline(ctx, l.Valid())
	defer cancel()
	if cctx.Err() != nil && ctx.Err() == nil {
		return errLeaseLapsed
	}
	err := f(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		return errLeaseLapsed
	}
	return err
}

// finding is what one check found that was not reported yet.
type finding struct {
	kinds       []string
	active      bool
	tokenAt     time.Time // the lastTokenIssued that is after our revocation, when it is new
	who         string    // who re-activated the user, as the audit query says; "" when unknown
	whoAt       time.Time
	whoNote     string // why who is unknown
	ours        bool   // our own OAuth client re-activated the user (no person): a reactivation of ours
	fingerprint string
}

// check reads one user and reports what changed since the last report.
func (w *Watch) check(ctx context.Context, l *lease.Held, it item) error {
	e := it.e
	start := w.now()
	var pu *genesys.PlatformUser
	err := w.call(ctx, l, func(ctx context.Context) (err error) { pu, _, err = w.gc.Users.GetPlatform(ctx, e.UserID); return err })
	if errors.Is(err, genesys.ErrNotFound) { // deleted in Genesys: nothing left to come back
		_ = w.list.Delete(ctx, watchlist.EntryKey(e.UserID), jetstream.LastRevision(it.rev))
		w.cfg.Observer.Checked(e.UserID, start, w.now())
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the platform user: %w", err)
	}
	var su *genesys.User
	err = w.call(ctx, l, func(ctx context.Context) (err error) { su, _, err = w.gc.Users.Get(ctx, e.UserID); return err })
	if err != nil && !errors.Is(err, genesys.ErrNotFound) { // SCIM may hide an inactive user by id
		return fmt.Errorf("read the SCIM user: %w", err)
	}
	active := pu.State == "active" || su != nil && su.Active
	if su != nil {
		e.Name = su.DisplayName
		if e.UserName == "" {
			e.UserName = su.UserName
		}
	}
	var f finding
	if active && !e.ReportedActive {
		f.kinds, f.active = append(f.kinds, watchlist.KindActive), true
	}
	revoked := e.TokensRevokedAt
	if revoked.IsZero() {
		revoked = e.DeactivatedAt
	}
	if t := pu.LastTokenIssued; t != nil && t.DateIssued.After(revoked) && t.DateIssued.After(e.ReportedToken) {
		f.kinds, f.tokenAt = append(f.kinds, watchlist.KindToken), t.DateIssued.UTC()
	}
	if !active {
		e.ReportedActive = false
	}
	if len(f.kinds) > 0 {
		ours, err := w.reactivatedByUs(ctx, e, it)
		if err != nil {
			return err
		}
		if ours { // the feed removes the user; nothing to report
			w.cfg.Observer.Checked(e.UserID, start, w.now())
			return nil
		}
		if f.active {
			w.whoReactivated(ctx, l, e, &f)
		}
		if f.ours {
			w.log.Info("user active again through our own OAuth client; a reactivation of ours not yet recorded, checked again next cycle",
				zap.String("user_id", e.UserID))
			w.cfg.Observer.Checked(e.UserID, start, w.now())
			return nil
		}
		if err := w.report(ctx, &e, &it, &f); err != nil {
			return err
		}
		e.ReportedActive = e.ReportedActive || f.active
		if !f.tokenAt.IsZero() {
			e.ReportedToken = f.tokenAt
		}
		e.Findings++
	}
	end := w.now()
	e.LastChecked = end.UTC()
	w.cfg.Observer.Checked(e.UserID, start, end)
	data, _ := json.Marshal(e)
	if _, err := w.list.Update(ctx, watchlist.EntryKey(e.UserID), data, it.rev); err != nil && !isConflict(err) {
		return fmt.Errorf("record the check: %w", err)
	} // a conflict: the feed changed the entry meanwhile (a new deactivation, a removal); it wins
	return nil
}

// reactivatedByUs reports whether this fleet recorded a reactivation or delete of the user after
// the entry's deactivation (its event reached the audit stream before the feed applied it).
func (w *Watch) reactivatedByUs(ctx context.Context, e watchlist.Entry, it item) (bool, error) {
	for _, o := range []audit.Outcome{audit.OutcomeReactivated, audit.OutcomeDeleted} {
		m, err := w.audits.GetLastMsgForSubject(ctx, w.cfg.UserAuditSubject(o, e.UserID))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read the user's last %s event: %w", o, err)
		}
		if m.Sequence > e.Seq {
			gone := e
			gone.Removed, gone.Seq = true, m.Sequence
			data, _ := json.Marshal(gone)
			_, _ = w.list.Update(ctx, watchlist.EntryKey(e.UserID), data, it.rev)
			return true, nil
		}
	}
	return false, nil
}

// whoReactivated asks Genesys's audit trail who set the user active after our deactivation (the
// realtime query reaches 14 days back).
func (w *Watch) whoReactivated(ctx context.Context, l *lease.Held, e watchlist.Entry, f *finding) {
	now := w.now()
	from := e.DeactivatedAt.Add(-time.Minute)
	if oldest := now.Add(-14*24*time.Hour + time.Minute); from.Before(oldest) {
		from = oldest
	}
	var msgs []genesys.AuditLogMessage
	err := w.call(ctx, l, func(ctx context.Context) (err error) {
		msgs, _, err = w.gc.Audits.UserAudits(ctx, e.UserID, from, now.Add(time.Minute), 25)
		return err
	})
	if err != nil {
		f.whoNote = "the audit query failed: " + audit.Clip(err.Error(), 200)
		if errors.Is(err, genesys.ErrForbidden) {
			f.whoNote = "the audit query is not permitted (audits:audit:view)"
		}
		return
	}
	for _, m := range msgs { // newest first
		if !setsActive(m) {
			continue
		}
		f.whoAt = m.EventDate.UTC()
		switch {
		case m.User != nil:
			f.who = "user " + strings.TrimSpace(m.User.Name+" ("+m.User.ID+")")
		case m.Client != nil:
			f.who = "OAuth client " + m.Client.ID
			f.ours = w.cfg.ClientID != "" && m.Client.ID == w.cfg.ClientID
		}
		return
	}
	f.whoNote = "the audit trail has no re-activation of the user since the deactivation"
}

func setsActive(m genesys.AuditLogMessage) bool {
	for _, c := range m.Changes {
		if strings.EqualFold(c.Property, "state") && slices.ContainsFunc(c.NewValues, func(v string) bool { return strings.EqualFold(v, "active") }) {
			return true
		}
	}
	return false
}

// report publishes the finding's ops event and, by policy, its urgent deactivation job; both are
// idempotent: the event key is a function of the finding, the job id is drawn at random once per
// finding and stored in the entry (it.rev follows) before the job is published.
func (w *Watch) report(ctx context.Context, e *watchlist.Entry, it *item, f *finding) error {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", e.UserID, e.JobID, strings.Join(f.kinds, ","), f.tokenAt.Format(time.RFC3339Nano)))
	f.fingerprint = hex.EncodeToString(sum[:12])
	who := e.UserName
	if who == "" {
		who = e.UserID
	}
	var saw []string
	if f.active {
		s := "active again"
		if f.who != "" {
			s += ", re-activated by " + f.who + " at " + f.whoAt.Format(timeFmt)
		}
		saw = append(saw, s)
	}
	if !f.tokenAt.IsZero() {
		saw = append(saw, fmt.Sprintf("a token issued at %s, after our revocation at %s", f.tokenAt.Format(timeFmt), cmpTime(e.TokensRevokedAt, e.DeactivatedAt).Format(timeFmt)))
	}
	what := strings.Join(saw, "; ")
	fields := map[string]string{
		"user_id": e.UserID, "user_name": e.UserName, "name": e.Name, "job_id": e.JobID,
		"deactivated_at": e.DeactivatedAt.Format(timeFmt), "findings": strings.Join(f.kinds, ","),
		"policy": w.cfg.Policy, "instance": w.cfg.Instance,
	}
	if !e.TokensRevokedAt.IsZero() {
		fields["tokens_revoked_at"] = e.TokensRevokedAt.Format(timeFmt)
	}
	if !f.tokenAt.IsZero() {
		fields["token_issued_at"] = f.tokenAt.Format(timeFmt)
	}
	if f.who != "" {
		fields["reactivated_by"], fields["reactivated_at"] = f.who, f.whoAt.Format(timeFmt)
	}
	if f.whoNote != "" {
		fields["reactivated_by_unknown"] = f.whoNote
	}
	if w.cfg.Policy == PolicyRedeactivate {
		job := jobs.Job{Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: e.UserID},
			Reason:      audit.Clip("drift: "+what+" (deactivated by job "+e.JobID+")", 1024),
			RequestedBy: "drift-watch " + w.cfg.Instance, Priority: jobs.PriorityUrgent}
		var taken []string
		for {
			id, err := w.redeactivationID(ctx, e, it, f.fingerprint, len(taken) > 0)
			if err != nil {
				return err
			}
			job.ID = id
			res, err := w.jobs.Enqueue(ctx, job)
			if err != nil {
				return fmt.Errorf("enqueue the re-deactivation: %w", err)
			}
			if !res.Duplicate || !w.idTaken(ctx, job) {
				break
			}
			w.log.Warn("the re-deactivation's job id is taken by another job; drawing a new one", zap.String("user_id", e.UserID), zap.String("job_id", id))
			if taken = append(taken, id); len(taken) >= 3 {
				return fmt.Errorf("enqueue the re-deactivation: job ids %s taken by other jobs", strings.Join(taken, ", "))
			}
		}
		fields["redeactivation_job"] = job.ID
		if len(taken) > 0 {
			fields["redeactivation_ids_taken"] = strings.Join(taken, ",")
		}
	}
	for k, v := range fields {
		if v == "" {
			delete(fields, k)
		}
	}
	msg := fmt.Sprintf("drift: user %s, deactivated by job %s at %s: %s", who, e.JobID, e.DeactivatedAt.Format(timeFmt), what)
	if id := fields["redeactivation_job"]; id != "" {
		msg += "; urgent deactivation job " + id + " enqueued"
		if taken := fields["redeactivation_ids_taken"]; taken != "" {
			msg += " (job ids " + taken + " were taken by other jobs)"
		}
	}
	ev, err := w.cfg.Origin.OpsEvent(audit.Ops{Kind: OpsKind, Message: msg, Fields: fields, Time: w.now().UTC(), Key: f.fingerprint})
	if err != nil {
		return err
	}
	if _, err := w.events.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish the finding: %w", err)
	}
	w.mu.Lock()
	for _, k := range f.kinds {
		w.status.Findings[k]++
	}
	w.mu.Unlock()
	for _, k := range f.kinds {
		w.cfg.Observer.Found(k)
	}
	w.log.Warn("drift found", zap.String("user_id", e.UserID), zap.String("job_id", e.JobID), zap.String("saw", what))
	return nil
}

// redeactivationID is the job id of the re-deactivation for the finding fingerprint: the one
// stored in the entry for that finding, unless fresh; else a new random one, stored in the entry
// (compare-and-set on it.rev, which then follows) before the job is published.
func (w *Watch) redeactivationID(ctx context.Context, e *watchlist.Entry, it *item, fingerprint string, fresh bool) (string, error) {
	if !fresh && e.RedeactivationJob != "" && e.RedeactivationFinding == fingerprint {
		return e.RedeactivationJob, nil
	}
	e.RedeactivationJob, e.RedeactivationFinding = "drift-"+randomHex(12), fingerprint
	data, _ := json.Marshal(*e)
	rev, err := w.list.Update(ctx, watchlist.EntryKey(e.UserID), data, it.rev)
	if err != nil {
		// A conflict: the feed changed the entry meanwhile; the next cycle reads it again.
		return "", fmt.Errorf("store the re-deactivation's job id: %w", err)
	}
	it.rev = rev
	return e.RedeactivationJob, nil
}

// idTaken reports whether the job id of job, which the jobs stream took as a duplicate, belongs
// to another job: its status record is of another user, action or dry run. No record (the job
// is still queued, most likely the one an earlier try of this finding published) or no status
// bucket: not taken.
func (w *Watch) idTaken(ctx context.Context, job jobs.Job) bool {
	if w.jobStatus == nil {
		return false
	}
	st, err := w.jobStatus.Get(ctx, job.ID)
	if err != nil {
		return false
	}
	return !st.BelongsTo(job)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// timeFmt is how a finding's fields and message write times: RFC 3339, UTC, milliseconds.
const timeFmt = "2006-01-02T15:04:05.000Z07:00"

func cmpTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}
