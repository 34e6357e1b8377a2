package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// CountPending returns how many schedules are pending in the scheduled stream: the jobs scheduled
// and neither fired nor canceled yet. Each pending schedule is the one message on its own subject
// ([Names.ScheduleSubject]: a new schedule on a subject rolls the old one up), so the count is the
// number of subjects under [Names.PendingSchedulesFilter].
//
// It asks for the stream's info with that subject filter and an offset past the end, so that the
// server counts the subjects from its index and answers with the total alone, not with a map of
// every pending subject (which Stream.Info with WithSubjectFilter would page through). The answer
// is the size of an ordinary stream info whatever the count; the server's cost is a sort of the
// pending subjects. It needs only the STREAM.INFO permission on the scheduled stream.
func (s *Scheduler) CountPending(ctx context.Context) (int, error) {
	req, err := json.Marshal(struct {
		Offset         int    `json:"offset"`
		SubjectsFilter string `json:"subjects_filter"`
	}{math.MaxInt32, s.names.PendingSchedulesFilter()})
	if err != nil {
		return 0, err
	}
	msg, err := s.js.Conn().RequestWithContext(ctx, apiPrefix(s.js)+"STREAM.INFO."+s.names.ScheduledStream(), req)
	if err != nil {
		return 0, fmt.Errorf("jobs: counting pending schedules: %w", err)
	}
	var resp struct {
		Total int `json:"total"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("jobs: counting pending schedules: %w", err)
	}
	if resp.Error != nil {
		return 0, fmt.Errorf("jobs: counting pending schedules: %s (%d)", resp.Error.Description, resp.Error.ErrCode)
	}
	return resp.Total, nil
}

// apiPrefix is the JetStream API prefix js sends its requests with.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	switch {
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	}
	return jetstream.DefaultAPIPrefix
}
