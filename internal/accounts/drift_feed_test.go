package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// No role but the worker may take, ack, re-filter or delete the drift watch's feed: the wildcards
// that let producers, auditors and operators read the audit stream through their own consumers
// would otherwise cover the durable drift-watch, and a producer that drained or re-filtered it
// would keep every new leaver off the watch list while the watch looked healthy (review
// 2026-12-07). Each role may still read the audit stream through a consumer of its own.
func TestDriftFeedIsTheWorkersAlone(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	feed := names.DriftConsumer()
	for _, role := range []string{"producer", "auditor", "operator"} {
		c := connect(t, url, role)
		c.denied("fetch from "+feed, "$JS.API.CONSUMER.MSG.NEXT.GENESYS_AUDIT."+feed, true, func(ctx context.Context) error {
			cons, err := c.js.Consumer(ctx, names.AuditStream(), feed)
			if err != nil {
				return err
			}
			batch, err := cons.Fetch(1, jetstream.FetchMaxWait(deniedCall/2))
			if err != nil {
				return err
			}
			for range batch.Messages() {
			}
			if batch.Error() == nil {
				return errNoError
			}
			return batch.Error()
		})
		c.denied("re-filter "+feed, "$JS.API.CONSUMER.CREATE.GENESYS_AUDIT."+feed, true, func(ctx context.Context) error {
			_, err := c.js.CreateOrUpdateConsumer(ctx, names.AuditStream(), jetstream.ConsumerConfig{
				Durable: feed, FilterSubjects: []string{"genesys.audit.user.nothing.*"}, AckPolicy: jetstream.AckExplicitPolicy})
			return err
		})
		c.allowed("read the audit stream through its own consumer", func(ctx context.Context) error {
			_, err := c.js.OrderedConsumer(ctx, names.AuditStream(), jetstream.OrderedConsumerConfig{})
			return err
		})
	}
	worker := connect(t, url, "worker")
	worker.allowed("read its feed", func(ctx context.Context) error {
		_, err := worker.js.Consumer(ctx, names.AuditStream(), feed)
		return err
	})
}

// errNoError stands for a fetch that ended without an error: refused, it ends with one (the
// request timed out unanswered); allowed and empty, it ends clean.
var errNoError = errors.New("the fetch ended without an error")
