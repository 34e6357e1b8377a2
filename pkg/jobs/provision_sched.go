package jobs

import "github.com/nats-io/nats.go/jetstream"

// scheduledStream is the stream of the message schedules. It must be a stream of its own: the
// server refuses AllowMsgSchedules with DiscardNew and on a stream with sources
// (nats-server v2.15.2 server/stream.go:2087, 2243), and the jobs stream is both.
//
//   - DiscardOld is forced by the server, so nothing may ever be discarded by a limit: no max age,
//     messages or bytes. A pending schedule stays until it fires (the server then purges it in the
//     same operation that stores the fired copy); the fired copies and cancel records expire by
//     their per-message TTL, ScheduledKeep (AllowMsgTTL).
//   - AllowRollup is what the server switches on with schedules anyway (a new schedule on a subject
//     replaces the old one); DenyPurge must stay off, or a fired schedule would not be purged.
//   - DenyDelete keeps clients from deleting a schedule or a tombstone by sequence; the server's
//     TTL expiry is not affected (TestScheduledTombstoneExpires checks it).
func (c TopologyConfig) scheduledStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              c.ScheduledStream(),
		Description:       "scheduled jobs until they fire; fired copies and cancel records as id tombstones",
		Subjects:          c.ScheduledSubjects(),
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		AllowMsgSchedules: true,
		AllowMsgTTL:       true,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		Storage:           c.Storage,
		Replicas:          c.Replicas,
	}
}

// dueSource brings the fired copies into the jobs stream, each onto its job's ordinary lane:
// <prefix>.scheduled.due.<lane>.<user token>.<id token> becomes <prefix>.jobs.<lane>.<user token>
// (a non-strict transform may drop the third wildcard). The server copies it at fire time, with no
// worker in between; it keeps its position in the source across restarts, also after the jobs
// stream has removed the acked copies.
//
// What v2.15.2 does, as the tests found it (single server): the copy arrives in the lane within
// the scheduler's 250 ms tick plus the source's hop (TestScheduleFiresAtItsTime, under 1 s); it
// keeps Nats-Scheduler (the worker's proof of a fired copy) and has no Nats-Msg-Id, so the jobs
// stream's window does not drop it; its Nats-TTL is accepted although the jobs stream refuses
// TTLs from clients (sourced messages skip that check, server/stream.go:6763) and stays inert
// there; the source needs no NATS user's permission (internal/accounts
// TestScheduledJobUnderAccounts); adding the subject and the source to an existing jobs stream is
// an in-place update that keeps its queued jobs (TestProvisionUpgradesAPre16Topology); and a
// server restarted on its store fires what was pending (pkg/worker TestScheduledJobSurvivesANATSRestart).
// On the three-node cluster (integration TestNATSNodeStoppedAndStarted) the node that led both
// streams was stopped while 20 jobs fell due and started before 20 more: each fired once and was
// sourced once (one fired copy per job; the jobs stream stored two messages per job, its intake
// message and its copy). That does not prove a leader change can never fire or source twice; a
// second copy finds the job's status done and ends "already finished" without a Genesys call.
func (c TopologyConfig) dueSource() *jetstream.StreamSource {
	return &jetstream.StreamSource{
		Name: c.ScheduledStream(),
		SubjectTransforms: []jetstream.SubjectTransformConfig{{
			Source: c.dueSubjects(), Destination: c.dueTransform(),
		}},
	}
}
