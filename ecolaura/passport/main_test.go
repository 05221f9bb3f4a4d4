package passport_test

import (
	"os"
	"testing"

	"github.com/ecolaura/ecolaura/internal/storetest"
)

// TestMain runs the suite with one migrated PostgreSQL template database,
// copied for every test that runs on PostgreSQL (see storetest.Run).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
