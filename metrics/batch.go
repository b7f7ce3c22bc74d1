package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/circleci-sync/circleci-sync/store"
)

// Metrics is what the activities' batch observer needs (activities.BatchObserver).
var _ interface {
	ObserveBatch(store.Batch, store.WriteStats)
} = (*Metrics)(nil)

// batchMetrics are the series ObserveBatch updates.
type batchMetrics struct {
	entities  *prometheus.CounterVec
	written   prometheus.Counter
	unchanged prometheus.Counter
	skipped   *prometheus.CounterVec
}

// newBatchMetrics registers the batch series with reg.
func newBatchMetrics(reg prometheus.Registerer) (*batchMetrics, error) {
	b := &batchMetrics{
		entities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: EntitiesTotalName,
			Help: "Entities fetched from CircleCI and written to the store, changed or not, by kind.",
		}, []string{LabelKind}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: RowsWrittenTotalName,
			Help: "Store rows inserted, updated or deleted by the sync.",
		}),
		unchanged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: RowsUnchangedTotalName,
			Help: "Store rows the sync left alone: identical, or older than the stored row.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: SkippedTotalName,
			Help: "Entities the sync could not fetch and recorded in the skipped ledger, by kind and reason.",
		}, []string{LabelKind, LabelReason}),
	}
	for _, c := range []prometheus.Collector{b.entities, b.written, b.unchanged, b.skipped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every kind is exported from the start (at zero): rate() sees the first increase.
	for _, k := range store.EntityKinds {
		b.entities.WithLabelValues(k.Name)
	}
	return b, nil
}

// ObserveBatch counts a batch that store.WriteBatch wrote, with its WriteStats:
// its entities by kind, its skipped entries by kind and reason, and the rows
// written and left unchanged. The activities call it after every successful
// write. It is safe for concurrent use, and does nothing on a nil *Metrics.
func (m *Metrics) ObserveBatch(b store.Batch, ws store.WriteStats) {
	if m == nil {
		return
	}
	bm := m.batch
	for kind, n := range b.Entities() {
		bm.entities.WithLabelValues(kind).Add(float64(n))
	}
	for _, s := range b.Skipped {
		bm.skipped.WithLabelValues(s.Kind, s.Reason).Inc()
	}
	if ws.Written > 0 {
		bm.written.Add(float64(ws.Written))
	}
	if ws.Unchanged > 0 {
		bm.unchanged.Add(float64(ws.Unchanged))
	}
}
