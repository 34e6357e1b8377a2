package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The values of Config.OnUnverified.
const (
	// OnUnverifiedAlert records verified:false and publishes the ops event verification_failed.
	OnUnverifiedAlert = "alert"
	// OnUnverifiedRetry does as alert, then repeats the access cut once (the PATCH active=false
	// and the token revocation) and reads the user back once more.
	OnUnverifiedRetry = "retry"
)

// The checks of the read-back (audit.Check.Check).
const (
	CheckSCIMActive      = "scim_active"
	CheckTokenAfter      = "token_after_revocation"
	CheckRoutingStatus   = "routing_status"
	verificationFailedOp = "verification_failed"
)

// stepVerify is the read-back (issue 17; contact-center.md §3): after the access cut and
// Config.VerifyDelay, it reads the user again and proves that the cut held: SCIM active is false,
// no token was issued since the revocation (GET /api/v2/users/{id}?expand=lasttokenissued) and,
// when off_queue ran, the routing status is not on queue. It records verified and each check
// (unmapped.verified, unmapped.verification); a failed check is also the ops event
// verification_failed, and with Config.OnUnverified retry the access cut is repeated once and
// read back once more. It never changes the outcome: a deactivation stays deactivated (or
// already_inactive), verified or not.
//
// Its reads are read-only and cost the budget at the normal priority whatever the job's, so that
// an urgent job's read-back never goes before the next urgent job's access cut. A read that fails
// is a failed check ("could not read"), not a failed job: the user's access was cut, and an
// attempt that failed after that would end a deactivated user "exhausted". Only a context that
// ends (a shutdown) hands the job back: the redelivery reads again (the step is not recorded done
// until it ends, and a repeated cut that an earlier delivery began is finished, not repeated).
//
// A dry run does not verify (nothing was changed). A user found already inactive is verified
// too: inactive, and no token since this job's revocation.
var stepVerify = Step{
	Name: "verify", Phase: PhaseVerify,
	Applies: func(r *Run) bool { return r.w.cfg.Verify && !r.job.DryRun && r.user != nil },
	Do:      verify,
}

func verify(ctx context.Context, r *Run) error {
	f := r.Findings()
	// A delivery before this one may have read back and repeated the cut: the rounds it
	// recorded stand; this delivery goes on from there.
	round := 1
	if last := lastRound(f.Verification); last == 2 || last == 1 && !roundOK(f.Verification, 1) && r.w.cfg.OnUnverified == OnUnverifiedRetry {
		round = 2 // the cut was repeated, or was about to be: finish it (idempotent) and read back
	}
	f.Verification = slices.DeleteFunc(f.Verification, func(c audit.Check) bool { return c.Round >= round })
	if round == 2 {
		if err := recut(ctx, r); err != nil {
			return err
		}
	}
	for {
		if r.w.cfg.VerifyDelay > 0 && !ctxsleep.Sleep(ctx, r.w.cfg.VerifyDelay) {
			return wait(ctx.Err())
		}
		at, have := r.revokedAt()
		checks, err := readBack(ctx, r, round, revocation{at: at, known: have}, r.st.Steps.IsDone(stepOffQueue.Name))
		if err != nil {
			return err
		}
		f.Verification = append(f.Verification, checks...)
		ok := roundOK(f.Verification, round)
		f.Verified = &ok
		if o, is := r.w.cfg.Observer.(VerifyObserver); is {
			o.Verified(ok, failedChecks(checks))
		}
		if ok {
			return nil
		}
		r.verificationFailed(ctx, round, checks)
		if round == 2 || r.w.cfg.OnUnverified != OnUnverifiedRetry {
			return nil
		}
		// Recorded before the repeated cut: a redelivery after a crash knows round 1 failed and
		// finishes round 2 instead of starting over.
		round = 2
		if err := r.saveStatus(ctx); err != nil {
			return err
		}
		if err := recut(ctx, r); err != nil {
			return err
		}
	}
}

// revocation is the revocation a read-back compares lastTokenIssued with.
type revocation struct {
	at    time.Time
	known bool   // false: none is recorded
	what  string // how it is known, when not this job's own revocation
}

// readBack makes the round's reads and judges them; routing adds the routing status. A
// deactivation's read-back reads at the normal budget priority, a verify job at its own (an
// operator waits for it). Only an ended context is an error.
func readBack(ctx context.Context, r *Run, round int, rev revocation, routing bool) ([]audit.Check, error) {
	id := r.user.ID
	var checks []audit.Check
	read := func(f func(c *genesys.Client) (any, *genesys.Response, error)) (any, error) {
		if r.job.Action == jobs.ActionVerify {
			return Call(ctx, r, f)
		}
		return callNormal(ctx, r, f)
	}

	v, err := read(func(c *genesys.Client) (any, *genesys.Response, error) { return c.Users.Get(ctx, id) })
	u, _ := v.(*genesys.User)
	switch {
	case ctx.Err() != nil:
		return nil, wait(ctx.Err())
	case err != nil:
		checks = append(checks, unread(CheckSCIMActive, "SCIM user", err))
	case u.Active:
		checks = append(checks, audit.Check{Check: CheckSCIMActive, Observed: "active=true",
			Reason: "SCIM says the user is active: the deactivation did not hold (Genesys ignored it, or somebody reactivated the user since)"})
	default:
		checks = append(checks, audit.Check{Check: CheckSCIMActive, OK: true, Observed: "active=false",
			Reason: "SCIM says the user is inactive: Genesys refuses the user a login and a token"})
	}

	v, err = read(func(c *genesys.Client) (any, *genesys.Response, error) { return c.Users.GetPlatform(ctx, id) })
	p, _ := v.(*genesys.PlatformUser)
	switch {
	case ctx.Err() != nil:
		return nil, wait(ctx.Err())
	case err != nil:
		checks = append(checks, unread(CheckTokenAfter, "platform user", err))
	default:
		checks = append(checks, tokenCheck(p, rev))
	}

	if routing {
		v, err := read(func(c *genesys.Client) (any, *genesys.Response, error) { return c.Routing.Status(ctx, id) })
		st, _ := v.(*genesys.RoutingStatus)
		switch {
		case ctx.Err() != nil:
			return nil, wait(ctx.Err())
		case err != nil:
			checks = append(checks, unread(CheckRoutingStatus, "routing status", err))
		case slices.Contains(onQueue, st.Status):
			checks = append(checks, audit.Check{Check: CheckRoutingStatus, Observed: "routingStatus " + st.Status,
				Reason: "the agent is on queue again: Genesys may route interactions to the leaver"})
		default:
			checks = append(checks, audit.Check{Check: CheckRoutingStatus, OK: true, Observed: "routingStatus " + st.Status,
				Reason: "the agent is not on queue: no interaction is routed to the leaver"})
		}
	}
	for i := range checks {
		checks[i].Round = round
	}
	return checks, nil
}

// onQueue are the routing statuses of an agent on queue.
var onQueue = []string{genesys.RoutingIdle, genesys.RoutingInteracting, genesys.RoutingCommunicating, genesys.RoutingNotResponding}

// tokenCheck judges lastTokenIssued against the revocation. Genesys gives dateIssued to the
// millisecond: a token issued in the millisecond of the revocation counts as after it.
func tokenCheck(p *genesys.PlatformUser, rev revocation) audit.Check {
	c := audit.Check{Check: CheckTokenAfter}
	state := "state " + p.State
	switch {
	case p.LastTokenIssued == nil:
		c.OK, c.Observed = true, state+", no token ever issued"
		c.Reason = "Genesys reports no token issued to the user"
	case !rev.known:
		c.Observed = state + ", lastTokenIssued " + p.LastTokenIssued.DateIssued.UTC().Format(time.RFC3339Nano)
		c.Reason = "no revocation of the user's tokens by this system is recorded: the token cannot be judged"
	default:
		issued := p.LastTokenIssued.DateIssued.UTC()
		c.Observed = state + ", lastTokenIssued " + issued.Format(time.RFC3339Nano) + ", revoked " + rev.at.UTC().Format(time.RFC3339Nano) + rev.what
		if issued.Before(rev.at.Truncate(time.Millisecond)) {
			c.OK, c.Reason = true, "the last token was issued before the revocation: no login since"
		} else {
			c.Reason = "a token was issued after the revocation: the user (or a client acting as the user) got back in"
		}
	}
	return c
}

// unread is the failed check of a read that failed.
func unread(check, what string, err error) audit.Check {
	reason := "could not read the " + what + ": " + audit.Clip(err.Error(), 200)
	if errors.Is(err, genesys.ErrForbidden) {
		reason += " (the OAuth client needs directory:user:view)"
	}
	return audit.Check{Check: check, Reason: reason}
}

// revokedAt is when this job last revoked the user's tokens, as revoke_tokens recorded it.
func (r *Run) revokedAt() (time.Time, bool) {
	rec, ok := recordedAs[revokeFound](r.Findings(), revokeStep)
	return rec.RevokedAt, ok && !rec.RevokedAt.IsZero()
}

// recut repeats the access cut once (--on-unverified retry): the PATCH active=false if the user
// reads active, then the token revocation, at the job's priority.
func recut(ctx context.Context, r *Run) error {
	r.log.Warn("read-back failed: repeating the access cut once", zap.String("user_id", r.user.ID))
	u, err := Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) { return c.Users.Get(ctx, r.user.ID) })
	if err != nil {
		return err
	}
	if u.Active {
		if err := r.w.cfg.Protect.protected(u); err != nil {
			return err
		}
		if err := r.savePatchSent(ctx); err != nil {
			return err
		}
		res, err := r.ensureActive(ctx, u, false, r.recheck)
		if err != nil {
			return err
		}
		if res.Changed {
			r.st.Steps.Deactivated = true
		}
		u = res.User
	}
	r.user = u
	return revokeTokens(ctx, r)
}

// callNormal is Call at the normal budget priority, whatever the job's.
func callNormal[T any](ctx context.Context, r *Run, f func(c *genesys.Client) (T, *genesys.Response, error)) (T, error) {
	saved := r.gc
	r.gc = r.w.cfg.Genesys
	defer func() { r.gc = saved }()
	return Call(ctx, r, f)
}

func lastRound(checks []audit.Check) int {
	last := 0
	for _, c := range checks {
		last = max(last, c.Round)
	}
	return last
}

// roundOK reports whether every check of the round passed (a round without checks did not).
func roundOK(checks []audit.Check, round int) bool {
	n := 0
	for _, c := range checks {
		if c.Round == round {
			if !c.OK {
				return false
			}
			n++
		}
	}
	return n > 0
}

func failedChecks(checks []audit.Check) []string {
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Check)
		}
	}
	return failed
}

// verificationFailed logs and publishes the ops event verification_failed: the user, the job and
// the failed checks. Its id is a function of the job and the round, so that a redelivery stores
// no second one.
func (r *Run) verificationFailed(ctx context.Context, round int, checks []audit.Check) {
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Check+": "+c.Reason)
		}
	}
	next := "an operator must look at the user in Genesys"
	if r.w.cfg.OnUnverified == OnUnverifiedRetry && round == 1 {
		next = "the access cut is repeated once (--on-unverified retry)"
	}
	s := r.st.Steps
	r.log.Error("read-back failed: the user's access may not be cut", zap.String("user_id", s.UserID), zap.Int("round", round),
		zap.Strings("failed", failed))
	ev, err := r.w.cfg.Origin.OpsEvent(audit.Ops{
		Kind: verificationFailedOp,
		Message: fmt.Sprintf("The read-back of user %s (job %s, %s) failed in round %d: %s; %s.",
			s.UserID, r.job.ID, r.job.Action, round, strings.Join(failed, "; "), next),
		Fields: map[string]string{"job_id": r.job.ID, "user_id": s.UserID, "user_name": s.UserName, "external_id": s.ExternalID,
			"action": string(r.job.Action), "round": fmt.Sprint(round), "failed_checks": strings.Join(failedChecks(checks), ","),
			"on_unverified": r.w.cfg.OnUnverified},
		Time: r.w.now().UTC(),
		Key:  r.job.ID + "\x00" + fmt.Sprint(round),
	})
	if err == nil {
		_, err = r.w.events.Publish(ctx, ev)
	}
	if err != nil {
		r.log.Error("publishing the verification_failed ops event failed", zap.Error(err))
	}
}

// VerifyObserver is an Observer that also hears each read-back round (see Config.Observer).
type VerifyObserver interface {
	// Verified: a read-back round ended, every check passed (ok) or failed names the checks
	// that failed.
	Verified(ok bool, failed []string)
}

// stepVerifyNow is the read-back of a verify job (genesysctl verify): the same checks as the
// deactivation's, now, against the revocation the user's last deactivation by this system
// recorded (its revoked_at; a deactivation recorded before revoked_at existed: the time of its
// event). It ends the plan with verified or unverified; a failed check is also the ops event.
var stepVerifyNow = Step{Name: "verify", Phase: PhaseVerify, Every: true, Do: verifyNow}

func verifyNow(ctx context.Context, r *Run) error {
	rev, routing, err := r.w.lastRevocation(ctx, r.user.ID)
	if err != nil {
		return wait(fmt.Errorf("%w: %w", errStore, err))
	}
	checks, err := readBack(ctx, r, 1, rev, routing)
	if err != nil {
		return err
	}
	f := r.Findings()
	f.Verification = checks
	ok := roundOK(checks, 1)
	f.Verified = &ok
	if o, is := r.w.cfg.Observer.(VerifyObserver); is {
		o.Verified(ok, failedChecks(checks))
	}
	if ok {
		r.message = fmt.Sprintf("Read-back of user %s: every check passed (%s).", r.user.UserName, checkNames(checks))
		return Stop(audit.OutcomeVerified, nil)
	}
	r.verificationFailed(ctx, 1, checks)
	r.message = fmt.Sprintf("Read-back of user %s failed: %s; the user may have access.", r.user.UserName, strings.Join(failedChecks(checks), ", "))
	return Stop(audit.OutcomeUnverified, nil)
}

func checkNames(checks []audit.Check) string {
	names := make([]string, 0, len(checks))
	for _, c := range checks {
		names = append(names, c.Check)
	}
	return strings.Join(names, ", ")
}

// lastRevocation is the revocation the user's last deactivation by this system recorded (the
// later of its last deactivated and already_inactive events), and whether it set the user off
// queue; known is false when none is recorded.
func (w *Worker) lastRevocation(ctx context.Context, userID string) (revocation, bool, error) {
	var best revocation
	routing := false
	for _, o := range []audit.Outcome{audit.OutcomeDeactivated, audit.OutcomeAlreadyInactive} {
		ev, at, err := w.lastUserEventAt(ctx, o, userID)
		if err != nil {
			return revocation{}, false, err
		}
		if ev == nil || !ev.TokensRevoked {
			continue
		}
		rev := revocation{at: at, known: true, what: " (the time of job " + ev.JobID + "'s event)"}
		if rec, ok := recordedAs[revokeFound](&ev.Findings, revokeStep); ok && !rec.RevokedAt.IsZero() {
			rev = revocation{at: rec.RevokedAt, known: true, what: " (job " + ev.JobID + ")"}
		}
		if !best.known || rev.at.After(best.at) {
			best = rev
			_, routing = ev.Steps[stepOffQueue.Name]
		}
	}
	return best, routing, nil
}
