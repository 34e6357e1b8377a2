// Package audit defines the audit event every job ends with and stores it in JetStream.
//
// # The event
//
// An event is a CloudEvents 1.0 event in structured mode: the whole event is the JSON body, sent
// with Content-Type application/cloudevents+json, so that the same bytes go to NATS and, later,
// to webhooks, where one signature covers every attribute. Its data is an OCSF 1.8.0 Account
// Change event (class_uid 3001, category_uid 3): activity 5 Disable (type_uid 300105) for
// deactivate jobs, 2 Enable (300102) for reactivate jobs, 99 Other (300199) for cleanup jobs (the
// follow-up of a deactivation: the account was disabled by the deactivation's event, and a second
// Disable would count each leaver twice). The target is the OCSF user (uid = the
// Genesys user id, uid_alt = the SCIM externalId, name and email_addr = the userName); the
// requester, as the producer claimed it, is actor.user.name; this project's own fields (job id,
// outcome, ticket, reason, roles held before, tokens revoked, attempts, latency, Genesys
// correlation ids, error, dry run, replay of, priority) are under unmapped. The JSON Schema in
// schema/event.v1.schema.json ([Schema]) describes it; every event built here satisfies it.
//
//	CloudEvents attribute  value
//	id                     EventID(job id): UUIDv5, the same for every attempt of a job (a random
//	                       UUIDv4 when another message had taken that id); ops events: "ops-" + UUID
//	source                 Origin.Source, default urn:offboard-dev:genesys-deactivator
//	type                   com.offboard-dev.genesys.user.<outcome> or ...genesys.ops.<kind>
//	subject                the Genesys user id, when known
//	time                   when the outcome was reached, RFC 3339 UTC with milliseconds
//	datacontenttype        application/json
//	dataschema             https://schema.ocsf.io/1.8.0/classes/account_change (ops: our schema)
//
// # Outcomes
//
// One terminal event per job id: its id (and Nats-Msg-Id) depends on the job id alone, so a
// redelivered job cannot store a second event within the stream's duplicate window.
//
//	outcome           OCSF status    severity          dead letter  subject
//	deactivated       1 Success      1 Informational   no           <prefix>.audit.user.deactivated.<user>
//	already_inactive  1 Success      1 Informational   no           <prefix>.audit.user.already_inactive.<user>
//	not_found         2 Failure      2 Low             no           <prefix>.audit.user.not_found.<user>
//	dry_run           99 Other       1 Informational   no           <prefix>.audit.user.dry_run.<user>
//	reactivated       1 Success      1 Informational   no           <prefix>.audit.user.reactivated.<user>
//	protected         2 Failure      3 Medium          yes          <prefix>.audit.user.protected.<user>
//	rejected          2 Failure      3 Medium          yes          <prefix>.audit.user.rejected.<user>
//	conflict          2 Failure      4 High            yes          <prefix>.audit.user.conflict.<user>
//	exhausted         2 Failure      4 High            yes          <prefix>.audit.user.exhausted.<user>
//	dropped           2 Failure      3 Medium          yes          <prefix>.audit.user.dropped.<user>
//	cleaned_up        1 Success      1 Informational   no           <prefix>.audit.user.cleaned_up.<user>
//	cleanup_skipped   99 Other       1 Informational   no           <prefix>.audit.user.cleanup_skipped.<user>
//	verified          1 Success      1 Informational   no           <prefix>.audit.user.verified.<user>
//	unverified        2 Failure      4 High            no           <prefix>.audit.user.unverified.<user>
//
// cleanup_skipped is Other, as a dry run is: the cleanup found the user active again and did not
// run, which is neither the success nor the failure of what it was asked. A cleanup job that
// fails ends exhausted or conflict like any job (activity 99), its error naming the failing step.
//
// verified and unverified are the outcomes of a verify job (genesysctl verify: a read-back that
// changes nothing, activity 99 Other). A deactivation's own read-back does not change its
// outcome: it adds unmapped.verified and unmapped.verification (see [Check]).
//
// <user> is [SubjectToken] of the Genesys user id: the id itself, or "unknown" when no Genesys
// id is known (a user not found by externalId, a rejected job). Severity is High where a leaver
// may keep access. Operational events go to <prefix>.audit.ops.<kind>.
//
// # Publishing
//
// [Publisher.Publish] sets Nats-Msg-Id to the event id. It treats a duplicate acknowledgement as
// success only after reading the stored message back and finding this event there; otherwise it
// returns [ErrIDClaimed] (see [CheckDuplicate]): ids are predictable, and a role that may publish
// on any subject of the stream could have taken one first.
//
// # Webhooks
//
// [Signer], [Verify] and [Verifier] are the Standard Webhooks signing and verification
// primitives, for the relay's deliveries and for any receiver or ingress that checks them.
//
// # What it does not hold
//
// The webhook relay, its endpoints, modes, dead letters and the development sink are package
// relay (pkg/audit/relay), which imports this one, never the reverse. This package does not
// import the Genesys client either; errors from it are only text here, and no field may carry a
// secret.
package audit
