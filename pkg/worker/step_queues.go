package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepQueues takes the leaver out of the routing queues they joined. Each queue's membership is
// read to tell a direct member (memberBy "user": removed, and given back on reactivation) from one
// added through a group (memberBy "group": Genesys does not remove such a member one by one, so it
// is recorded and skipped, and the group is the place to act). Calls: 1 + 1 per queue + 1 per
// direct membership removed.
var stepQueues = Step{
	Name: "queues", Phase: PhaseClean, Optional: true,
	Permissions: []string{"routing:queue:view", "routing:queue:edit"}, // or routing:queueMember:manage for the changes
	Probe: func(ctx context.Context, c *genesys.Client) error {
		if _, _, err := c.Users.Queues(ctx, genesys.ProbeUserID); permitted(err) != nil {
			return err
		}
		_, err := c.Routing.RemoveMember(ctx, genesys.ProbeUserID, genesys.ProbeUserID)
		return permitted(err)
	},
	Calls: func(r *Run) int {
		f, _ := recordedAs[queuesFound](r.Findings(), "queues")
		return 1 + len(f.Queues) + f.count(memberByUser)
	},
	Do:   leaveQueues,
	Undo: rejoinQueues,
}

// Membership kinds as QueueMember.MemberBy says, and ours for one it did not say.
const (
	memberByUser    = genesys.MemberByUser
	memberByGroup   = genesys.MemberByGroup
	memberByUnknown = "unknown" // not among the queue's members, or Genesys did not say how
)

// queueRecord is one queue the user had joined before the cleanup.
type queueRecord struct {
	QueueID  string `json:"queue_id"`
	Name     string `json:"name,omitempty"`
	MemberBy string `json:"member_by"`
}

// queuesFound is what queues records: the queues before (the undo reads it), what it removed and
// what it left.
type queuesFound struct {
	Queues  []queueRecord `json:"queues"`
	Removed []string      `json:"removed,omitempty"` // queue ids of the direct memberships removed
	Skipped []string      `json:"skipped,omitempty"` // queue ids of the others, left as they are
	// Why says why each kind of membership in Skipped was left ("group", "unknown").
	Why    map[string]string `json:"why,omitempty"`
	Result string            `json:"result"`
}

// skipReasons says why a membership that is not direct is left as it is.
var skipReasons = map[string]string{
	memberByGroup:   "a member through a group: Genesys does not remove it one by one; remove the user from the group",
	memberByUnknown: "not found among the queue's members, or Genesys did not say whether directly or through a group: left as it is",
}

// fit returns the record kept within what an audit event keeps of one step (audit.MaxStepSize),
// so that the undo can read it back: queue names go first (the ids are what the undo needs).
func (f queuesFound) fit() queuesFound {
	if b, _ := json.Marshal(f); len(b) <= audit.MaxStepSize {
		return f
	}
	f.Queues = slices.Clone(f.Queues)
	for i := range f.Queues {
		f.Queues[i].Name = ""
	}
	return f
}

func (f queuesFound) count(memberBy string) int {
	n := 0
	for _, q := range f.Queues {
		if q.MemberBy == memberBy {
			n++
		}
	}
	return n
}

func leaveQueues(ctx context.Context, r *Run) error {
	now, err := readMemberships(ctx, r)
	if err != nil {
		return err
	}
	// A delivery before this one may have removed some already: what it recorded stays the
	// before-state, and what is still joined now is what is left to do.
	earlier, _ := recordedAs[queuesFound](r.Findings(), "queues")
	found := newQueuesFound(mergeQueues(earlier.Queues, now))
	direct := slices.DeleteFunc(slices.Clone(now), func(q queueRecord) bool { return q.MemberBy != memberByUser })
	switch {
	case len(found.Queues) == 0:
		found.Result = "nothing to do: in no queue"
		return r.Found("queues", found)
	case r.DryRun():
		found.Result = fmt.Sprintf("would leave %s, %d left as they are", counted(len(direct), "queue"), len(found.Skipped))
		r.Would("queues", fmt.Sprintf("remove the user from %s they are a direct member of (%d through a group or unknown, left)", counted(len(direct), "queue"), len(found.Skipped)))
		return r.Found("queues", found)
	}
	found.Result = "removing"
	if err := r.Found("queues", found.fit()); err != nil {
		return err
	}
	if len(direct) > 0 {
		// Stored before the first removal: a delivery that fails (or crashes) after it still
		// leaves the before-state for the next one and for the undo.
		if err := r.saveStatus(ctx); err != nil {
			return err
		}
	}
	for _, q := range direct {
		if _, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
			resp, err := c.Routing.RemoveMember(ctx, q.QueueID, r.user.ID)
			return struct{}{}, resp, err
		}); err != nil && !errors.Is(err, genesys.ErrNotFound) { // not found: not a member any more
			return err
		}
	}
	for _, q := range found.Queues {
		if q.MemberBy == memberByUser {
			found.Removed = append(found.Removed, q.QueueID)
		}
	}
	found.Result = fmt.Sprintf("left %s, %d left as they are", counted(len(found.Removed), "queue"), len(found.Skipped))
	return r.Found("queues", found.fit())
}

// readMemberships reads the queues the user has joined and how they are a member of each.
func readMemberships(ctx context.Context, r *Run) ([]queueRecord, error) {
	qs, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.Queue, []*genesys.Response, error) {
		return c.Users.Queues(ctx, r.user.ID)
	})
	if err != nil {
		return nil, err
	}
	out := make([]queueRecord, 0, len(qs))
	for _, q := range qs {
		by, err := memberBy(ctx, r, q.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, queueRecord{QueueID: q.ID, Name: q.Name, MemberBy: by})
	}
	return out, nil
}

// newQueuesFound records the memberships before, and those left as they are and why.
func newQueuesFound(before []queueRecord) queuesFound {
	found := queuesFound{Queues: before}
	for _, q := range before {
		if q.MemberBy == memberByUser {
			continue
		}
		found.Skipped = append(found.Skipped, q.QueueID)
		if found.Why == nil {
			found.Why = map[string]string{}
		}
		found.Why[q.MemberBy] = skipReasons[q.MemberBy]
	}
	return found
}

// counted is "1 queue", "2 queues": n and the noun, plural unless n is 1.
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// memberBy reads the user's membership of a queue, searched by the user's name and matched by
// id, and says how they are a member. A user the name search misses is looked for among every
// member. A queue gone meanwhile is "unknown".
func memberBy(ctx context.Context, r *Run, queueID string) (string, error) {
	u := r.user
	for _, opts := range []genesys.QueueMemberOptions{{Name: cmp.Or(u.DisplayName, u.UserName)}, {}} {
		ms, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.QueueMember, []*genesys.Response, error) {
			return c.Routing.QueueMembers(ctx, queueID, opts)
		})
		if errors.Is(err, genesys.ErrNotFound) {
			return memberByUnknown, nil
		}
		if err != nil {
			return "", err
		}
		if i := slices.IndexFunc(ms, func(m genesys.QueueMember) bool { return m.ID == u.ID }); i >= 0 {
			if by := ms[i].MemberBy; by == memberByUser || by == memberByGroup {
				return by, nil
			}
			return memberByUnknown, nil
		}
	}
	return memberByUnknown, nil
}

// mergeQueues is earlier's records followed by those of now it lacks.
func mergeQueues(earlier, now []queueRecord) []queueRecord {
	out := slices.Clone(earlier)
	for _, q := range now {
		if !slices.ContainsFunc(out, func(e queueRecord) bool { return e.QueueID == q.QueueID }) {
			out = append(out, q)
		}
	}
	return out
}

// queuesUndone is what undo_queues records.
type queuesUndone struct {
	Restored []string   `json:"restored,omitempty"` // queue ids the user is a member of again
	Already  []string   `json:"already,omitempty"`  // queue ids the user had joined again meanwhile
	CouldNot []couldNot `json:"could_not,omitempty"`
	Result   string     `json:"result"`
}

// rejoinQueues, the undo of queues, adds the user back to the queues they were a direct member
// of and are not in now. A queue that no longer exists, or that refuses the member, is recorded
// as could-not; the others are still restored.
func rejoinQueues(ctx context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[queuesFound](recorded, "queues")
	if !ok && recorded != nil && recorded.Steps["queues"] != nil {
		// The event clipped the record (a user in more queues than an event keeps): say so.
		return r.Found("undo_queues", queuesUndone{Result: "nothing restored: the deactivation's audit event clipped its record of the queues; see the cleanup job's status for the full list"})
	}
	var direct []queueRecord
	for _, q := range rec.Queues {
		if q.MemberBy == memberByUser {
			direct = append(direct, q)
		}
	}
	if !ok || len(direct) == 0 {
		return nil // nothing recorded to give back
	}
	id := r.user.ID
	qs, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.Queue, []*genesys.Response, error) {
		return c.Users.Queues(ctx, id)
	})
	if err != nil {
		return err
	}
	var done queuesUndone
	for _, q := range direct {
		if slices.ContainsFunc(qs, func(j genesys.Queue) bool { return j.ID == q.QueueID }) {
			done.Already = append(done.Already, q.QueueID)
			continue
		}
		_, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
			resp, err := c.Routing.AddMembers(ctx, q.QueueID, []string{id})
			return struct{}{}, resp, err
		})
		switch {
		case errors.Is(err, genesys.ErrNotFound):
			done.CouldNot = append(done.CouldNot, couldNot{ID: q.QueueID, Name: q.Name, Reason: reason("the queue no longer exists", err)})
		case err != nil && refused(err):
			done.CouldNot = append(done.CouldNot, couldNot{ID: q.QueueID, Name: q.Name, Reason: reason("Genesys refused to add the user back", err)})
		case err != nil:
			return err
		default:
			done.Restored = append(done.Restored, q.QueueID)
		}
	}
	done.Result = fmt.Sprintf("%d of %d queues restored, %d could not be", len(done.Restored), len(direct), len(done.CouldNot))
	return r.Found("undo_queues", done)
}
