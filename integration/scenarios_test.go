//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// scenarioLimit is the wall time one scenario may take, start-up included. A batch takes a bit
// more than three budget windows (simulator_test.go); faults add AckWait redeliveries and
// restarts.
const scenarioLimit = 8 * time.Minute

// restartGrace is how long a stopped worker may drain (it has --shutdown-timeout 5s) before
// Docker kills it.
const restartGrace = 15 * time.Second

// Each scenario runs its own stack (network, cluster, simulator, workers): a fault in one can
// leave nothing behind for the next, and the simulator's org starts fresh.

// TestBatchAcrossThreeWorkers: scenario 1. A batch of 1,000 users across three workers, with
// nothing going wrong.
func TestBatchAcrossThreeWorkers(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s1")
	statuses := s.checkInvariants(ctx, b)
	for i := range scenarioWorkers {
		if n := finishedBy(statuses, workerName(i), time.Time{}); n == 0 {
			t.Errorf("%s finished no job: the batch was not spread across the workers", workerName(i))
		}
	}
}

// TestWorkerKilledAndAnotherRestarted: scenario 2. Mid-batch one worker is killed with SIGKILL
// (its jobs in flight come back after AckWait) and another is restarted gracefully; then the
// killed one is started again.
//
// Meanwhile two ingress replicas take ingressEvents signed webhook deliveries, posted
// concurrently across both, and ingress-1 is killed (SIGKILL) once half of them have had a first
// answer; the sender retries every failed or unanswered delivery on the other replica with the
// same webhook-id, as Standard Webhooks senders do. Every delivery that got a 2xx must be exactly
// one job (one status record, one audit event requested_by ingress:webhook), and no job may exist
// that no delivery asked for.
func TestWorkerKilledAndAnotherRestarted(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s2")
	deliveries := s.ingressDuringBatch(ctx)
	s.waitFinished(ctx, b, len(b.ids)/4, "before the kill")
	must(t, "kill worker-1", s.kill(ctx, 0))
	must(t, "restart worker-2", s.restart(ctx, 1, restartGrace))
	s.waitFinished(ctx, b, len(b.ids)/2, "with worker-1 dead")
	must(t, "start worker-1 again", s.workers[0].Start(ctx))
	s.checkInvariants(ctx, b)
	s.checkIngressJobs(ctx, deliveries)
}

// ingressEvents is how many webhook deliveries scenario 2 sends through the ingress: one
// deactivation each, of users added for them (about 40 s more of the budget).
const ingressEvents = 200

// ingressDuringBatch adds ingressEvents users, starts two ingress replicas and delivers one
// signed deactivation per user across both, killing ingress-1 midway (see scenario 2). It returns
// once every delivery got a 2xx or the scenario's time ran out.
func (s *stack) ingressDuringBatch(ctx context.Context) []*ingressDelivery {
	t := s.t
	users, err := s.sim.addUsers(ctx, "s2-in", ingressEvents)
	must(t, "add the ingress's users", err)
	var urls [2]string
	var replicas [2]*testcontainers.DockerContainer
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { replicas[i], urls[i] = s.startIngress(ctx, i) })
	}
	wg.Wait()
	sender, err := newWebhookSender(ingressSecret)
	must(t, "sender", err)
	deliveries := make([]*ingressDelivery, len(users))
	for i, u := range users {
		body, err := json.Marshal(map[string]any{"action": "deactivate", "user": map[string]string{"id": u.ID},
			"reason": "left the company", "ticket": fmt.Sprintf("SOAR-%d", i)})
		must(t, "delivery body", err)
		deliveries[i] = &ingressDelivery{webhookID: fmt.Sprintf("msg_s2_%03d", i), body: body}
	}
	start := time.Now()
	var killAt, killedAt time.Time
	sendThroughIngress(ctx, sender, urls[:], deliveries, func() {
		killAt = time.Now()
		_, err := s.docker.ContainerKill(ctx, replicas[0].GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
		if err != nil {
			t.Errorf("kill ingress-1: %v", err)
		}
		killedAt = time.Now()
	})
	acked, retried := 0, 0
	for _, d := range deliveries {
		if d.acked {
			acked++
		}
		if len(d.attempts) > 1 {
			retried++
		}
	}
	t.Logf("ingress: %d of %d deliveries acknowledged in %s; ingress-1 killed from %s to %s; %d needed a retry, e.g. %v",
		acked, len(deliveries), time.Since(start).Round(100*time.Millisecond), killAt.Sub(start).Round(time.Millisecond),
		killedAt.Sub(start).Round(time.Millisecond), retried, firstRetried(deliveries))
	if killedAt.IsZero() {
		t.Error("ingress-1 was never killed")
	}
	// The kill must have cut the stream: deliveries sent to the dead replica were retried.
	if retried == 0 {
		t.Error("no delivery needed a retry: the kill did not land mid-stream")
	}
	return deliveries
}

// firstRetried is the attempts of the first delivery that needed more than one.
func firstRetried(deliveries []*ingressDelivery) []string {
	for _, d := range deliveries {
		if len(d.attempts) > 1 {
			return d.attempts
		}
	}
	return nil
}

// checkIngressJobs checks, once every job has ended, that every delivery that got a 2xx is
// exactly one job, deactivated, with one audit event naming the source, and that the ingress
// made no other job.
func (s *stack) checkIngressJobs(ctx context.Context, deliveries []*ingressDelivery) {
	t := s.t
	counts, by, err := s.ingressJobs(ctx)
	must(t, "read the ingress's audit events", err)
	want := map[string]bool{}
	var unacked, wrongID, missing, doubled, badStatus, badSource []string
	for _, d := range deliveries {
		if !d.acked {
			unacked = append(unacked, fmt.Sprintf("%s %v", d.webhookID, d.attempts))
			continue
		}
		id := ingress.JobID(ingressSource, d.webhookID+"#1")
		if d.jobID != id {
			wrongID = append(wrongID, d.webhookID+"→"+d.jobID)
		}
		want[id] = true
		switch counts[id] {
		case 0:
			missing = append(missing, d.webhookID)
			continue
		case 1:
		default:
			doubled = append(doubled, fmt.Sprintf("%s×%d", d.webhookID, counts[id]))
		}
		if by[id] != ingress.RequestedBy(ingressSource) {
			badSource = append(badSource, d.webhookID+": "+by[id])
		}
		if _, err := s.checkStatus(ctx, id, audit.OutcomeDeactivated); err != nil {
			badStatus = append(badStatus, err.Error())
		}
	}
	var extra []string
	for id := range counts {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	report(s, "deliveries never acknowledged", unacked)
	report(s, "deliveries answered with another job id", wrongID)
	report(s, "acknowledged deliveries without a terminal audit event", missing)
	report(s, "acknowledged deliveries with more than one terminal audit event", doubled)
	report(s, "ingress jobs whose audit event names another requester", badSource)
	report(s, "ingress jobs without a done, deactivated status", badStatus)
	report(s, "ingress jobs no delivery asked for", extra)
	t.Logf("ingress: %d acknowledged deliveries, %d ingress jobs in the audit stream", len(want), len(counts))
}

// TestNATSNodeStoppedAndStarted: scenario 3. Mid-batch one of the three NATS nodes stops; the
// streams (R3) keep their quorum on the other two, clients move over, and the batch goes on.
// The node then starts again and catches up (its /healthz answers 200 only when it is current).
//
// The node is the one that leads the scheduled stream and the jobs stream (issue 16: the stream
// that fires and the one that sources the fired copies), and two groups of scheduled
// jobs straddle its stop and start: one due while it stops (spread over the second around the
// stop, so that fires race the leader change), one due after it is back. Each job must fire and
// run exactly once: one fired copy, one copy sourced into the jobs stream, one deactivation in the
// simulator, one audit event.
func TestNATSNodeStoppedAndStarted(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s3")
	users, err := s.sim.addUsers(ctx, "s3-sched", 2*scheduledPerGroup)
	must(t, "add users", err)
	s.waitFinished(ctx, b, len(b.ids)/4, "before the node stops")
	leader, err := s.scheduledLeader(ctx)
	must(t, "scheduled stream leader", err)
	// The jobs stream, which sources the fired copies, moves to the same node, so that the stop
	// changes the leader of both: of the stream that fires and of the one that sources.
	must(t, "move the jobs stream's leader", s.moveLeader(ctx, s.names.JobsStream(), natsNodes[leader]))
	seq0, err := s.jobsLastSeq(ctx)
	must(t, "jobs stream", err)
	// The first group falls due over one second from due; the node stops 200 ms into it, so that
	// the leader changes while its jobs fire (a graceful stop hands the leadership over within
	// about 100 ms).
	due := time.Now().Add(3 * time.Second)
	atStop := s.schedule(ctx, "s3-at-stop", users[:scheduledPerGroup], func(i int) time.Time {
		return due.Add(time.Duration(i) * time.Second / scheduledPerGroup)
	})
	later := s.schedule(ctx, "s3-after", users[scheduledPerGroup:], func(int) time.Time { return due.Add(scheduledAfterRestart) })
	pending := s.waitPending(ctx, 2*scheduledPerGroup, due)
	select { // the stop's moment is the fault itself: a fixed time, not a wait for a condition
	case <-ctx.Done():
		t.Fatal("the scenario's time ran out before the stop")
	case <-time.After(time.Until(due.Add(200 * time.Millisecond))):
	}
	t.Logf("%d schedules pending; %d jobs due %s–%s and %d due %s; stopping %s, the leader of %s, at %s",
		pending, len(atStop.ids), atStop.at[0].Format("15:04:05.000"), atStop.at[len(atStop.at)-1].Format("15:04:05.000"),
		len(later.ids), later.at[0].Format("15:04:05.000"), natsNodes[leader], s.names.ScheduledStream(), time.Now().Format("15:04:05.000"))
	stopAt := time.Now()
	must(t, "stop "+natsNodes[leader], s.nats.stopNode(ctx, leader))
	sl, serr := s.streamLeader(ctx, s.names.ScheduledStream())
	jl, jerr := s.streamLeader(ctx, s.names.JobsStream())
	t.Logf("%s stopped at %s; %s is led by %s (%v), %s by %s (%v)", natsNodes[leader], time.Now().Format("15:04:05.000"),
		s.names.ScheduledStream(), sl, serr, s.names.JobsStream(), jl, jerr)
	s.waitFinished(ctx, b, len(b.ids)/2, "with "+natsNodes[leader]+" down")
	must(t, "start "+natsNodes[leader]+" again", s.nats.startNode(ctx, leader))
	back := time.Now()
	if now, err := s.scheduledLeader(ctx); err == nil {
		t.Logf("%s back at %s; %s is led by %s", natsNodes[leader], back.Format("15:04:05.000"), s.names.ScheduledStream(), natsNodes[now])
	}
	if back.After(later.at[0]) {
		t.Logf("note: the node came back after the second group was due: it fired with the node down")
	}
	s.waitScheduledDone(ctx, atStop, "due around the stop")
	if at, err := s.firedAt(ctx, atStop); err == nil && len(at) > 0 {
		before := 0
		for _, a := range at {
			if a.Before(stopAt) {
				before++
			}
		}
		t.Logf("the first group's %d fired copies were stored %s–%s, %d of them before the stop began",
			len(at), at[0].Format("15:04:05.000"), at[len(at)-1].Format("15:04:05.000"), before)
	}
	s.waitScheduledDone(ctx, later, "due after the start")
	s.checkInvariants(ctx, b)
	s.checkScheduled(ctx, seq0, atStop, later)
}

// scheduledPerGroup is how many jobs scenario 3 schedules in each of its two groups, and
// scheduledAfterRestart when the second group is due: past the node's restart, which comes once
// the second quarter of the batch is done (about 50 s at the budget).
const (
	scheduledPerGroup     = 20
	scheduledAfterRestart = 100 * time.Second
)

// TestWorkerCutOffFromNetwork: scenario 4. Mid-batch a worker loses the network (it reaches
// neither NATS nor the simulator) while it keeps running; the others take over its jobs after
// AckWait. Reconnected, it takes jobs again.
func TestWorkerCutOffFromNetwork(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s4")
	s.waitFinished(ctx, b, len(b.ids)/4, "before the cut")
	must(t, "disconnect worker-2", s.cut(ctx, 1))
	t.Logf("worker-2 cut off at %s", time.Now().Format("15:04:05.000"))
	s.waitFinished(ctx, b, len(b.ids)/2, "with worker-2 cut off")
	must(t, "reconnect worker-2", s.reconnect(ctx, 1))
	back := time.Now()
	t.Logf("worker-2 reconnected at %s", back.Format("15:04:05.000"))
	statuses := s.checkInvariants(ctx, b)
	if finishedBy(statuses, "worker-2", back) == 0 {
		t.Errorf("worker-2 finished no job after it was reconnected")
	}
}

// TestSinkDownAndBack: scenario 5. Mid-batch the webhook sink stops (the SIEM is down) for
// sinkOutage, longer than the relay's first retries; the relay keeps retrying its oldest
// undelivered event (ordered delivery holds the rest back), nothing goes to the dead letters, and
// once the sink is back every event reaches it. The workers go on as if nothing happened.
func TestSinkDownAndBack(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s5")
	s.waitFinished(ctx, b, len(b.ids)/4, "before the sink stops")
	stop := 10 * time.Second
	must(t, "stop the sink", s.sink.Stop(ctx, &stop))
	down := time.Now()
	before, err := s.remaining(ctx)
	must(t, "jobs left", err)
	select { // the outage is the fault itself: a fixed time, not a wait for a condition
	case <-ctx.Done():
		t.Fatal("the scenario's time ran out during the outage")
	case <-time.After(sinkOutage):
	}
	after, err := s.remaining(ctx)
	must(t, "jobs left", err)
	if after >= before {
		t.Errorf("the workers finished no job while the sink was down (%d jobs left before, %d after)", before, after)
	}
	retries, err := s.relayCounter(ctx, "audit_relay_retries_total")
	must(t, "relay metrics", err)
	if retries == 0 {
		t.Errorf("the relay retried nothing while the sink was down for %s", time.Since(down).Round(time.Second))
	}
	must(t, "start the sink again", s.sink.Start(ctx))
	t.Logf("sink down for %s, while the workers finished %d jobs; the relay retried %v times", time.Since(down).Round(time.Second), before-after, retries)
	s.checkInvariants(ctx, b)
	dead, err := s.relayCounter(ctx, "audit_relay_dead_letters_total")
	if err != nil || dead != 0 {
		t.Errorf("relay dead letters: %v (%v), want 0", dead, err)
	}
}

// sinkOutage is how long scenario 5's sink stays down: past the relay's first five retries (1 s,
// 2 s, 4 s, 8 s, 10 s), far short of its whole schedule (relayConfig).
const sinkOutage = 40 * time.Second

// TestRollingRestart: scenario 6. During a batch every worker in turn is stopped gracefully
// (SIGTERM: it stops taking jobs, finishes or hands back those in flight) and started again;
// the next one goes only when the previous one is ready.
func TestRollingRestart(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s6")
	s.waitFinished(ctx, b, len(b.ids)/5, "before the rolling restart")
	for i := range s.workers {
		must(t, "restart "+workerName(i), s.restart(ctx, i, restartGrace))
	}
	s.checkInvariants(ctx, b)
}

// finishedBy counts the jobs a worker finished after since.
func finishedBy(statuses map[string]jobs.Status, worker string, since time.Time) int {
	n := 0
	for _, st := range statuses {
		if st.Worker == worker && st.FinishedAt.After(since) {
			n++
		}
	}
	return n
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
