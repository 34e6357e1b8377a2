package jobs

import (
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// The names of the drift watch (issue 17).
//
//	what             name (prefix "genesys")
//	watch list       genesys-watch (KV): user.<Genesys user id> per watched user, status for genesysctl
//	feed consumer    drift-watch, on GENESYS_AUDIT: the deactivated, already_inactive, reactivated and
//	                 deleted user events, which add users to the watch list and remove them
//	leader lease     the key drift.leader in genesys-locks

// WatchBucket is the KV bucket of the drift watch's list of users and its status.
func (n Names) WatchBucket() string { return n.bucket() + "-watch" }

// DriftConsumer is the durable consumer on the audit stream that feeds the watch list.
func (n Names) DriftConsumer() string { return "drift-watch" }

// DriftFeedSubjects are the audit subjects the drift consumer takes.
func (n Names) DriftFeedSubjects() []string {
	return []string{
		n.UserAuditSubjects(audit.OutcomeDeactivated), n.UserAuditSubjects(audit.OutcomeAlreadyInactive),
		n.UserAuditSubjects(audit.OutcomeReactivated), n.UserAuditSubjects(audit.OutcomeDeleted),
	}
}

// driftConsumer is the config of the drift consumer, on the audit stream.
func (c TopologyConfig) driftConsumer() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        c.DriftConsumer(),
		Description:    "the drift watch's feed of deactivated, reactivated and deleted users",
		FilterSubjects: c.DriftFeedSubjects(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.AckWait,
		MaxDeliver:     c.MaxDeliver,
		MaxAckPending:  c.MaxAckPending,
	}
}

// watchBucket is the config of the watch bucket: one revision per key, no TTL (the watch drops
// users older than its --drift-days itself).
func (c TopologyConfig) watchBucket() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: c.WatchBucket(), Description: "drift watch: watched users and status",
		History: 1, Storage: c.Storage, Replicas: c.Replicas}
}
