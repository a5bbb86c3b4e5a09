package main

import (
	"testing"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/storetest"
)

// fileStore passes the conformance suite every entrasaml.Store runs.
func TestFileStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) entrasaml.Store {
		s, err := newFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
