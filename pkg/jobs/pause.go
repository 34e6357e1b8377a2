package jobs

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// fleetPause stops the whole fleet when Genesys refuses our credentials or
// permissions: it pauses both durable consumers (server-side, so no worker
// receives jobs), says why in a log line and an ops event, and probes
// Genesys every ProbeInterval until it accepts us again. The consumers are
// paused for two probe intervals at a time and the pause is extended while
// the probe fails, so a fleet whose probing worker died resumes by itself
// and trips again if the fault persists. Safe for concurrent use.
type fleetPause struct {
	w *Worker

	mu     sync.Mutex
	paused bool
	reason string
}

func newFleetPause(w *Worker) *fleetPause { return &fleetPause{w: w} }

// trip pauses the fleet because of err.
func (p *fleetPause) trip(ctx context.Context, err error) {
	p.mu.Lock()
	first := !p.paused
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

func (p *fleetPause) extend(ctx context.Context) {
	w := p.w
	until := w.now().Add(2 * w.cfg.ProbeInterval)
	for _, name := range []string{w.cfg.Names.UrgentConsumer(), w.cfg.Names.NormalConsumer()} {
		if _, err := w.cfg.JetStream.PauseConsumer(ctx, w.cfg.Names.JobsStream(), name, until); err != nil {
			w.log.Warn("pause consumer", zap.String("consumer", name), zap.Error(err))
		}
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

// probe runs the token grant and one SCIM read, the same calls the
// worker's self-check makes.
func (p *fleetPause) probe(ctx context.Context) {
	w := p.w
	_, _, err := w.cfg.Genesys.Users.List(ctx, &genesys.ListOptions{Count: 1})
	if err != nil {
		w.log.Warn("Genesys still refuses us; the fleet stays paused", zap.Error(err))
		p.extend(ctx)
		return
	}
	for _, name := range []string{w.cfg.Names.UrgentConsumer(), w.cfg.Names.NormalConsumer()} {
		if _, err := w.cfg.JetStream.ResumeConsumer(ctx, w.cfg.Names.JobsStream(), name); err != nil {
			w.log.Warn("resume consumer", zap.String("consumer", name), zap.Error(err))
			return
		}
	}
	p.mu.Lock()
	p.paused, p.reason = false, ""
	p.mu.Unlock()
	w.cfg.Observer.Paused(false)
	w.log.Info("Genesys accepts our credentials again: the fleet resumes")
	p.opsEvent(ctx, "fleet_resumed", "Genesys accepts the worker's credentials again; the fleet takes jobs again.", "")
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
