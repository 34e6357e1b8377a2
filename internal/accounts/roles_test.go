package accounts_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Operations more than one role is refused.
func enqueueJob(c *client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		pub, err := jobs.NewPublisher(c.js, names)
		if err != nil {
			return err
		}
		_, err = pub.Enqueue(ctx, jobs.Job{ID: "forbidden-" + c.role, Action: jobs.ActionDeactivate,
			User: jobs.UserRef{UserName: "x@example.com"}, RequestedBy: c.role})
		return err
	}
}

func readDead(c *client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := readAll(ctx, c.js, "GENESYS_DEAD", "genesys.dead.>")
		return err
	}
}

func publishUserEvent(c *client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, "genesys.audit.user.deactivated.forged", []byte(`{}`))
		return err
	}
}

func putStatus(c *client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, "$KV.genesys-status.forged", []byte(`{}`))
		return err
	}
}

func checkProducer(t *testing.T, url string, c *client) {
	denyStreamUpdates(c) // D6
	denyOtherInboxes(c)  // D11
	// genesysctl says why NATS refused it, not only that it timed out.
	code, _, errOut := ctlAs(t, url, "producer", "dead", "list", "--timeout", "2s")
	if code != 1 || !strings.Contains(errOut, "Permissions Violation for Publish to \"$JS.API.CONSUMER.CREATE.GENESYS_DEAD") ||
		!strings.Contains(errOut, `NATS user "producer"`) {
		t.Errorf("genesysctl dead list as producer: exit %d, stderr %q; want 1 naming the refused subject", code, errOut)
	}
	c.allowed("read the audit stream", func(ctx context.Context) error {
		msgs, err := readAll(ctx, c.js, "GENESYS_AUDIT", "genesys.audit.user.>")
		if err == nil && len(msgs) < 2 {
			t.Errorf("producer read %d audit events, want 2", len(msgs))
		}
		return err
	})
	c.denied("read dead letters", "$JS.API.CONSUMER.CREATE.GENESYS_DEAD", true, readDead(c))
	c.denied("write the status bucket", "$KV.genesys-status", true, putStatus(c))
	c.denied("write the status bucket through the KV API", "$KV.genesys-status", true, func(ctx context.Context) error {
		store, err := jobs.NewStatusStore(ctx, c.js, names)
		if err != nil {
			return err
		}
		return store.Put(ctx, jobs.Status{JobID: "acc-deactivate", State: jobs.StateRunning})
	})
	c.denied("publish an audit event", "genesys.audit.user", true, publishUserEvent(c))
	c.denied("delete a dead letter", "$JS.API.STREAM.MSG.DELETE.GENESYS_DEAD", true, func(ctx context.Context) error {
		return deleteMsg(ctx, c, "GENESYS_DEAD", 1)
	})
	// D4 of the 2026-12 review: a producer may deactivate, never re-enable a leaver.
	c.denied("publish a reactivation", "genesys.jobs.reactivate", true, func(ctx context.Context) error {
		pub, err := jobs.NewPublisher(c.js, names)
		if err != nil {
			return err
		}
		_, err = pub.Enqueue(ctx, jobs.Job{ID: "producer-reactivate", Action: jobs.ActionReactivate,
			User: jobs.UserRef{UserName: "x@example.com"}, RequestedBy: "hr"})
		return err
	})
	// The cleanup lane is the workers': a producer cannot queue a cleanup job (nor claim the id
	// of one there).
	c.denied("publish a cleanup job", "genesys.jobs.cleanup", true, func(ctx context.Context) error {
		pub, err := jobs.NewPublisher(c.js, names)
		if err != nil {
			return err
		}
		parent := jobs.Job{ID: "acc-deactivate", Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "x@example.com"}, RequestedBy: "hr"}
		_, err = pub.Enqueue(ctx, parent.CleanupJob(time.Time{}))
		return err
	})
}

func checkWorker(c *client) {
	checkWorkerStreams(c) // D6
	denyOtherInboxes(c)   // D11
	c.allowed("publish a cleanup job", func(ctx context.Context) error {
		pub, err := jobs.NewPublisher(c.js, names)
		if err != nil {
			return err
		}
		// For a user that does not exist: the worker that takes it ends it not_found.
		parent := jobs.Job{ID: "acc-worker-parent", Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "nobody@example.com"}, RequestedBy: "hr"}
		_, err = pub.Enqueue(ctx, parent.CleanupJob(time.Time{}))
		return err
	})
	c.denied("publish a deactivation", "genesys.jobs.normal", true, func(ctx context.Context) error {
		pub, err := jobs.NewPublisher(c.js, names)
		if err != nil {
			return err
		}
		_, err = pub.Enqueue(ctx, jobs.Job{ID: "acc-worker-deactivate", Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "nobody@example.com"}, RequestedBy: "hr"})
		return err
	})
	c.denied("delete a dead letter", "$JS.API.STREAM.MSG.DELETE.GENESYS_DEAD", true, func(ctx context.Context) error {
		return deleteMsg(ctx, c, "GENESYS_DEAD", 1)
	})
	c.denied("delete the audit stream", "$JS.API.STREAM.DELETE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		return c.js.DeleteStream(ctx, "GENESYS_AUDIT")
	})
	c.denied("read the audit stream", "$JS.API.CONSUMER.CREATE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		_, err := readAll(ctx, c.js, "GENESYS_AUDIT", "genesys.audit.>")
		return err
	})
}

func checkAuditor(t *testing.T, c *client) {
	denyStreamUpdates(c) // D6
	denyOtherInboxes(c)  // D11
	c.allowed("read the audit stream", func(ctx context.Context) error {
		msgs, err := readAll(ctx, c.js, "GENESYS_AUDIT", "genesys.audit.user.>")
		if err == nil && len(msgs) < 2 {
			t.Errorf("auditor read %d audit events, want 2", len(msgs))
		}
		return err
	})
	c.allowed("subscribe to audit subjects", func(context.Context) error {
		if _, err := c.nc.SubscribeSync("genesys.audit.>"); err != nil {
			return err
		}
		if err := c.nc.Flush(); err != nil {
			return err
		}
		if len(c.violations) > 0 {
			t.Errorf("auditor subscribing to genesys.audit.>: %s", <-c.violations)
		}
		return nil
	})
	c.denied("publish a job", "genesys.jobs.normal", true, enqueueJob(c))
	c.denied("read dead letters", "$JS.API.CONSUMER.CREATE.GENESYS_DEAD", true, readDead(c))
	c.denied("read job status", "$JS.API.STREAM.INFO.KV_genesys-status", true, func(ctx context.Context) error {
		_, err := jobs.NewStatusStore(ctx, c.js, names)
		return err
	})
	c.denied("publish an ops event", "genesys.audit.ops", true, func(ctx context.Context) error { return publishOps(ctx, c) })
}

func checkRelay(t *testing.T, c *client) {
	// The relay consumes its own mirror of the audit stream (review D8), which it creates.
	c.allowed("create the relay stream, consume it with a durable consumer and ack", func(ctx context.Context) error {
		if _, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "GENESYS_AUDIT_RELAY",
			Mirror: &jetstream.StreamSource{Name: "GENESYS_AUDIT"}, Storage: jetstream.MemoryStorage}); err != nil {
			return err
		}
		cons, err := c.js.CreateOrUpdateConsumer(ctx, "GENESYS_AUDIT_RELAY", jetstream.ConsumerConfig{
			Durable: "relay-sink", FilterSubject: "genesys.audit.>", AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			return err
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return err
		}
		return msg.DoubleAck(ctx)
	})
	c.allowed("publish an ops event", func(ctx context.Context) error { return publishOps(ctx, c) })
	c.allowed("publish a relay dead letter", func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, "genesys.dead.relay.sink", []byte(`{"endpoint":"sink"}`))
		return err
	})
	c.denied("publish a job", "genesys.jobs.normal", true, enqueueJob(c))
	c.denied("publish a user audit event", "genesys.audit.user", true, publishUserEvent(c))
	c.denied("publish a job dead letter", "genesys.dead.conflict", true, func(ctx context.Context) error {
		_, err := c.js.Publish(ctx, "genesys.dead.conflict", []byte(`{}`))
		return err
	})
	c.denied("read dead letters", "$JS.API.CONSUMER.CREATE.GENESYS_DEAD", true, readDead(c))
}

func checkOperator(t *testing.T, url string, c *client) {
	denyStreamUpdates(c) // D6
	denyOtherInboxes(c)  // D11
	code, out, errOut := ctlAs(t, url, "operator", "dead", "list", "--output", "json")
	if code != 0 || !strings.Contains(out, `"job_id":"acc-protected"`) {
		t.Fatalf("dead list: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, args := range [][]string{{"dead", "show", "acc-protected"}, {"status", "acc-deactivate"}, {"jobs", "--outcome", "deactivated"}} {
		if code, out, errOut := ctlAs(t, url, "operator", args...); code != 0 || !strings.Contains(out, "acc-") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if code, out, errOut := ctlAs(t, url, "operator", "dead", "replay", "--operator", "alice", "acc-protected"); code != 0 || !strings.Contains(out, "acc-protected.r1") {
		t.Fatalf("dead replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if st := waitDone(t, c, "acc-protected.r1"); st.Outcome != audit.OutcomeProtected {
		t.Errorf("replayed job ended %s, want protected (the worker still protects admins)", st.Outcome)
	}
	if code, out, errOut := ctlAs(t, url, "operator", "dead", "purge", "--operator", "alice", "--yes", "acc-protected"); code != 0 || out != "acc-protected: purged\n" {
		t.Fatalf("dead purge: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	c.allowed("find the ops events naming the NATS user", func(ctx context.Context) error {
		msgs, err := readAll(ctx, c.js, "GENESYS_AUDIT", "genesys.audit.ops.>")
		kinds := map[string]bool{}
		for _, m := range msgs {
			var ev struct{ Data audit.OpsData }
			if json.Unmarshal(m.Data(), &ev) == nil && ev.Data.Fields["nats_user"] == "operator" && ev.Data.Fields["operator"] == "alice" {
				kinds[ev.Data.Kind] = true
			}
		}
		if err == nil && (!kinds["dead_letter_replayed"] || !kinds["dead_letter_purged"]) {
			t.Errorf("ops events by alice as operator: %v", kinds)
		}
		return err
	})
	c.denied("delete an audit event", "$JS.API.STREAM.MSG.DELETE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		return deleteMsg(ctx, c, "GENESYS_AUDIT", 1)
	})
	c.denied("publish a user audit event", "genesys.audit.user", true, publishUserEvent(c))
	c.denied("write the status bucket", "$KV.genesys-status", true, putStatus(c))
}

// deleteMsg deletes one message by sequence without a stream lookup, which might be refused first.
func deleteMsg(ctx context.Context, c *client, stream string, seq uint64) error {
	req, _ := json.Marshal(map[string]any{"seq": seq, "no_erase": true})
	msg, err := c.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.DELETE."+stream, req)
	if err != nil {
		return err
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if !resp.Success {
		return errorString("delete refused by the stream: " + resp.Error.Description)
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// publishOps publishes an ops event as c.
func publishOps(ctx context.Context, c *client) error {
	p, err := audit.NewPublisher(c.js, audit.PublisherConfig{Prefix: "genesys", Stream: "GENESYS_AUDIT"})
	if err != nil {
		return err
	}
	ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: "accounts_test", Message: "checking rights of " + c.role, Time: time.Now(), Key: c.role})
	if err != nil {
		return err
	}
	_, err = p.Publish(ctx, ev)
	return err
}
