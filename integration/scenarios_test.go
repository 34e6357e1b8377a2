//go:build integration

package integration

import (
	"testing"
	"time"

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
func TestWorkerKilledAndAnotherRestarted(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s2")
	s.waitFinished(ctx, b, len(b.ids)/4, "before the kill")
	must(t, "kill worker-1", s.kill(ctx, 0))
	must(t, "restart worker-2", s.restart(ctx, 1, restartGrace))
	s.waitFinished(ctx, b, len(b.ids)/2, "with worker-1 dead")
	must(t, "start worker-1 again", s.workers[0].Start(ctx))
	s.checkInvariants(ctx, b)
}

// TestNATSNodeStoppedAndStarted: scenario 3. Mid-batch one of the three NATS nodes stops; the
// streams (R3) keep their quorum on the other two, clients move over, and the batch goes on.
// The node then starts again and catches up (its /healthz answers 200 only when it is current).
func TestNATSNodeStoppedAndStarted(t *testing.T) {
	ctx := scenarioContext(t, scenarioLimit)
	s := newStack(ctx, t, scenarioWorkers)
	b := s.enqueueBatch(ctx, "s3")
	s.waitFinished(ctx, b, len(b.ids)/4, "before the node stops")
	must(t, "stop nats-2", s.nats.stopNode(ctx, 1))
	s.waitFinished(ctx, b, len(b.ids)/2, "with nats-2 down")
	must(t, "start nats-2 again", s.nats.startNode(ctx, 1))
	s.checkInvariants(ctx, b)
}

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
