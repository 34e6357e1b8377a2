// Package jobs is the wire contract of the deactivation jobs: what producers, the relay,
// operators' tools and the workers agree on. It holds
//
//   - the job message ([Job], [UserRef], [Action], [Priority]): its JSON Schema
//     (schema/job.v1.schema.json, also [Schema]), [Decode] and [Job.Validate];
//   - the names of the streams, subjects, consumers and buckets ([Names]) and the rules that tie a
//     job to its subject ([Names.CheckSubject]), the reserved ids and stand-ins ([StandInID]);
//   - the topology: [Provision] creates it, [Verify] checks it;
//   - publishing jobs ([Publisher]);
//   - the records a job leaves: its status ([Status], [StatusStore]), its dead letter
//     ([DeadLetter], [DeadLetters]);
//   - the mass-deactivation and reactivation guards ([Guard]) and the job consumers' pause state
//     ([Lanes], [LaneHolds]), which operators change and workers obey.
//
// It does not run jobs (package worker does) and does not talk to Genesys: a producer or the relay
// that imports it links neither the Genesys client nor OAuth2.
//
// A job is a JSON object whose layout is fixed by a version number and described by the JSON
// Schema; producers in any language can validate against that file, and [Decode] accepts exactly
// the documents it accepts (the tests check both against one table). [Decode] never panics, reads
// at most [MaxJobSize] bytes and reports every problem it finds, each with its field, in a
// [*ValidationError]. Every error it returns matches [ErrInvalidJob] with errors.Is: such a job
// can never become valid and is rejected, not retried.
package jobs
