package lease_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.IgnoreSourceSetup()) }
