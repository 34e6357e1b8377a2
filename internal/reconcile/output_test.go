package reconcile

import (
	"bytes"
	"testing"
	"time"
)

func TestWriterFormats(t *testing.T) {
	t.Parallel()
	rows := []Result{
		{Line: 2, User: "id:u1", TerminatedAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Class: DeactivatedByUs, UserID: "u1",
			UserName: "a@example.com", AuditEventID: "e1", AuditOutcome: "deactivated", AuditJobID: "j1", AuditTime: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		{Line: 3, User: "user_name:b|c@example.com", TerminatedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Class: StillActive, JobID: "j-2", Enqueued: Published},
	}
	sum := Summary{Rows: 2, Classes: map[Class]int{DeactivatedByUs: 1, StillActive: 1}, Published: 1, GenesysCalls: 2}
	want := map[string][2]string{
		FormatCSV: {"line,user,terminated_at,class,user_id,user_name,audit_event_id,audit_outcome,audit_job_id,audit_time,job_id,enqueued,note,error\n" +
			"2,id:u1,2026-11-30T00:00:00Z,deactivated_by_us,u1,a@example.com,e1,deactivated,j1,2026-11-30T09:00:00Z,,,,\n" +
			"3,user_name:b|c@example.com,2026-12-01T00:00:00Z,still_active,,,,,,,j-2,published,,\n",
			"people: 2\ndeactivated_by_us: 1\ninactive_not_by_us: 0\nstill_active: 1\nnot_found: 0\nerror: 0\ndeactivation jobs published: 1, already enqueued: 0\ngenesys calls: 2\n"},
		FormatJSON: {`{"line":2,"user":"id:u1","terminated_at":"2026-11-30T00:00:00Z","class":"deactivated_by_us","user_id":"u1","user_name":"a@example.com","audit_event_id":"e1","audit_outcome":"deactivated","audit_job_id":"j1","audit_time":"2026-11-30T09:00:00Z"}` + "\n" +
			`{"line":3,"user":"user_name:b|c@example.com","terminated_at":"2026-12-01T00:00:00Z","class":"still_active","job_id":"j-2","enqueued":"published"}` + "\n" +
			`{"summary":{"rows":2,"duplicates":0,"classes":{"deactivated_by_us":1,"still_active":1},"published":1,"already_enqueued":0,"genesys_calls":2}}` + "\n", ""},
		FormatMD: {"| line | user | terminated_at | class | user_id | user_name | audit_event_id | audit_outcome | audit_job_id | audit_time | job_id | enqueued | note | error |\n" +
			"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
			"| 2 | id:u1 | 2026-11-30T00:00:00Z | deactivated_by_us | u1 | a@example.com | e1 | deactivated | j1 | 2026-11-30T09:00:00Z |  |  |  |  |\n" +
			"| 3 | user_name:b\\|c@example.com | 2026-12-01T00:00:00Z | still_active |  |  |  |  |  |  | j-2 | published |  |  |\n" +
			"\n**Summary**\n\n```\npeople: 2\ndeactivated_by_us: 1\ninactive_not_by_us: 0\nstill_active: 1\nnot_found: 0\nerror: 0\ndeactivation jobs published: 1, already enqueued: 0\ngenesys calls: 2\n```\n", ""},
	}
	for format, w := range want {
		var out, sumOut bytes.Buffer
		rw, err := NewWriter(format, &out, &sumOut)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := rw.Row(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := rw.Summary(sum); err != nil {
			t.Fatal(err)
		}
		if out.String() != w[0] || sumOut.String() != w[1] {
			t.Errorf("%s:\n%s\n--- summary:\n%s\n--- want:\n%s\n--- summary:\n%s", format, out.String(), sumOut.String(), w[0], w[1])
		}
	}
	if _, err := NewWriter("xml", nil, nil); err == nil {
		t.Error("format xml accepted")
	}
}
