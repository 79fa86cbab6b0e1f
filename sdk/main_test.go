package loupe_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// export goroutine must end with Shutdown.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
