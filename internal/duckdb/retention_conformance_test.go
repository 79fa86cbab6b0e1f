package duckdb_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/storetest"
)

func TestConformanceRetention(t *testing.T) {
	h := storetest.Horizons{Payloads: 7 * 24 * time.Hour, ErrorPayloads: 30 * 24 * time.Hour, Metadata: 90 * 24 * time.Hour}
	storetest.RunRetention(t, h,
		func(t *testing.T) storetest.Store {
			// SegmentBytes 1: a payload segment file per write, the
			// granularity the suite asks for (retention drops whole files).
			s, err := duckdb.Open(t.Context(), duckdb.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), SegmentBytes: 1,
				Retention: &duckdb.RetentionPolicy{Default: duckdb.Retention{Payloads: h.Payloads, ErrorPayloads: h.ErrorPayloads, Metadata: h.Metadata}}})
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
			})
			return s
		},
		func(ctx context.Context, s storetest.Store, now time.Time) error {
			_, err := s.(*duckdb.Store).EnforceRetention(ctx, now)
			return err
		})
}
