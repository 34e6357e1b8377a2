package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// fleetPause stops the whole fleet when Genesys refuses our credentials or
// permissions: it holds both lanes (see lanes: server-side, so no worker
// receives jobs), says why in a log line and an ops event, and probes
// Genesys every ProbeInterval, with the call that was refused, until it
// accepts it again. The hold lapses after two probe intervals and is
// extended while the probe fails, so a fleet whose probing worker died
// resumes by itself and trips again if the fault persists. Jobs that met
// the refusal wait in their worker until the pause is lifted (see
// Worker.handle), so a pause spends none of their deliveries. Safe for
// concurrent use.
type fleetPause struct {
	w *Worker

	mu      sync.Mutex
	paused  bool
	reason  string
	cause   error         // the refusal that tripped the pause: the probe repeats that call
	resumed chan struct{} // closed when the pause is lifted
}

func newFleetPause(w *Worker) *fleetPause { return &fleetPause{w: w} }

// trip pauses the fleet because of err.
func (p *fleetPause) trip(ctx context.Context, err error) {
	p.mu.Lock()
	first := !p.paused
	if first {
		p.resumed, p.cause = make(chan struct{}), err
	}
	p.paused, p.reason = true, err.Error()
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	p.extend(ctx)
	if first {
		p.w.cfg.Observer.Paused(true)
		p.w.log.Error("Genesys refuses our credentials or permissions: pausing the fleet until it accepts them again", zap.Error(err))
		p.opsEvent(ctx, "fleet_paused", "Genesys refused the worker's credentials or permissions; every worker stopped taking jobs. Jobs stay queued.", err.Error())
	}
}

// Paused reports whether this worker has paused the fleet, and why.
func (p *fleetPause) Paused() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused, p.reason
}

// holdName is this worker's credentials hold among the lanes' holds: each
// worker lifts only its own, once its own probe passes.
func (p *fleetPause) holdName() string { return jobs.HoldCredentials + ":" + p.w.cfg.ID }

func (p *fleetPause) extend(ctx context.Context) {
	w := p.w
	_, reason := p.Paused()
	now := w.now()
	hold := &jobs.LaneHold{Lanes: []string{jobs.LaneUrgent, jobs.LaneNormal, jobs.LaneCleanup, jobs.LaneDelete}, Until: now.Add(2 * w.cfg.ProbeInterval),
		Reason: reason, By: w.cfg.ID, Since: now.UTC()}
	if err := w.lanes.Set(ctx, p.holdName(), hold); err != nil {
		// The holds could not be stored: pause the consumers anyway (this hold names them all, so
		// applying it alone resumes nothing another reason holds).
		err = errors.Join(err, w.lanes.Apply(ctx, jobs.LaneHolds{Holds: map[string]jobs.LaneHold{p.holdName(): *hold}}))
		w.log.Warn("recording the fleet pause failed", zap.Error(err))
	}
}

// probeLoop runs until ctx ends; while the fleet is paused by this worker,
// it probes Genesys and resumes the consumers when the probe succeeds.
func (p *fleetPause) probeLoop(ctx context.Context) {
	t := time.NewTicker(p.w.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if paused, _ := p.Paused(); paused {
			p.probe(ctx)
		}
	}
}

// probe repeats the refused call on a user that does not exist (see
// genesys.Client.Probe): a read alone would pass while a permission to
// change users is missing, and resume a fleet that can do nothing.
func (p *fleetPause) probe(ctx context.Context) {
	w := p.w
	p.mu.Lock()
	cause := p.cause
	p.mu.Unlock()
	if err := w.probe(ctx, cause); err != nil {
		w.log.Warn("Genesys still refuses us; the fleet stays paused", zap.Error(err))
		p.extend(ctx)
		return
	}
	if err := w.lanes.Set(ctx, p.holdName(), nil); err != nil {
		w.log.Warn("resuming the job consumers failed", zap.Error(err))
		return
	}
	p.mu.Lock()
	p.paused, p.reason, p.cause = false, "", nil
	close(p.resumed)
	p.mu.Unlock()
	w.cfg.Observer.Paused(false)
	w.log.Info("Genesys accepts our credentials again: the fleet resumes")
	p.opsEvent(ctx, "fleet_resumed", "Genesys accepts the worker's credentials again; the fleet takes jobs again.", "")
}

// wait blocks until this worker's pause is lifted (true) or stop is closed
// (false).
func (p *fleetPause) wait(stop <-chan struct{}) bool {
	p.mu.Lock()
	paused, resumed := p.paused, p.resumed
	p.mu.Unlock()
	if !paused {
		return true
	}
	select {
	case <-resumed:
		return true
	case <-stop:
		return false
	}
}

func (p *fleetPause) opsEvent(ctx context.Context, kind, message, reason string) {
	fields := map[string]string{"worker": p.w.cfg.ID}
	if reason != "" {
		fields["reason"] = reason
	}
	ev, err := p.w.cfg.Origin.OpsEvent(audit.Ops{Kind: kind, Message: message, Fields: fields, Time: p.w.now().UTC()})
	if err == nil {
		_, err = p.w.events.Publish(ctx, ev)
	}
	if err != nil {
		p.w.log.Warn("publish ops event", zap.String("kind", kind), zap.Error(err))
	}
}

// Paused reports whether the fleet is paused: by this worker after a
// systemic failure, or server-side on the consumers (by any worker). It is
// what readiness checks ask.
func (w *Worker) Paused(ctx context.Context) (bool, string) {
	if paused, reason := w.pause.Paused(); paused {
		return true, reason
	}
	info, err := w.normal.Info(ctx)
	if err != nil {
		return false, ""
	}
	if info.Paused {
		return true, "the jobs consumers are paused"
	}
	return false, ""
}
