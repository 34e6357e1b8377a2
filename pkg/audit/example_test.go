package audit_test

import (
	"fmt"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

func ExampleOrigin_UserEvent() {
	ev, err := audit.Origin{Source: "urn:acme:genesys-deactivator:prod"}.UserEvent(audit.Record{
		JobID:   "job-1",
		Outcome: audit.OutcomeNotFound,
		Time:    time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		User:    audit.Target{ExternalID: "E-1234"},
	})
	if err != nil {
		panic(err)
	}
	data := ev.Data.(*audit.AccountChange)
	fmt.Println(ev.ID)
	fmt.Println(ev.Type)
	fmt.Println(ev.Route())
	fmt.Println(data.TypeUID, data.StatusID, data.Status, data.SeverityID, data.Unmapped.DeadLetter)
	// Output:
	// de16db6b-97c2-5677-b2d3-f924f829ad5d
	// com.offboard-dev.genesys.user.not_found
	// audit.user.not_found.unknown
	// 300105 2 Failure 2 false
}
