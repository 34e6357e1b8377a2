// Package drift is the drift watch (issue 17): a role that re-reads the users this fleet
// deactivated in the last N days and reports those that came back.
//
// One instance per fleet is active, through a lease in the locks bucket (key drift.leader): it
// renews the lease a third of its TTL apart and stops checking before the lease could have expired
// (a margin of a quarter of the TTL), so that a standby that takes an expired lease over never
// checks while the old holder still does. The others stand by and take over once the lease is
// released (at once: they watch the key) or has expired.
//
// The active instance:
//   - feeds the watch list (KV bucket jobs.Names.WatchBucket, package watchlist) from the audit
//     stream's user events through the durable consumer jobs.Names.DriftConsumer: a deactivated or
//     already_inactive event adds or replaces the user's entry; a reactivated or deleted event
//     that this fleet ran removes it (a reactivation we ran is not drift);
//   - runs cycles: every entry, oldest check first, is read with GET /api/v2/users/{id}?expand=
//     lasttokenissued and SCIM GET, through a local limiter of Share × RatePerMinute (its calls also
//     pass the fleet budget at normal priority, so the fleet limit holds whatever the share);
//     entries older than Days are dropped;
//   - reports a finding (active again; a token issued after our revocation) once, as the ops event
//     drift_found naming the user, the deactivation job and when, what it saw, and for an active
//     user who re-activated them (Genesys's realtime audit query; without audits:audit:view the
//     finding is reported without it); by policy "redeactivate" it also enqueues an urgent
//     deactivation job whose id is a function of the finding (a repeat is a duplicate);
//   - publishes its status (watchlist.Status) for genesysctl drift status.
package drift
