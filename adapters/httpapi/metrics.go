package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ecolaura/ecolaura/ports"
)

// Metrics are the Prometheus metrics of the API, registered on a private
// registry (no global state). Create them with [NewMetrics] when the cache
// that feeds the hit/miss counters is built before the server, and pass them
// with [WithMetrics]; otherwise [New] makes its own.
type Metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	ordersPlaced   prometheus.Counter
	stockConflicts prometheus.Counter
	cacheHits      prometheus.Counter
	cacheMisses    prometheus.Counter
}

// NewMetrics creates the metrics on a new private registry, together with the
// Go runtime and process collectors.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecolaura_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecolaura_http_request_duration_seconds",
			Help:    "HTTP request latency by method, route template and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		ordersPlaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_orders_placed_total",
			Help: "Orders created through the API (replays not counted).",
		}),
		stockConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_stock_conflicts_total",
			Help: "Checkouts refused for insufficient stock.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_cache_hits_total",
			Help: "Cache lookups that found a value.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_cache_misses_total",
			Help: "Cache lookups that found nothing.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.ordersPlaced, m.stockConflicts, m.cacheHits, m.cacheMisses,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// Registry returns the private registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	s := statusLabel(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return fmt.Sprint(code)
	}
	return "other"
}

// InstrumentCache wraps c so that every lookup counts as a hit or a miss.
func (m *Metrics) InstrumentCache(c ports.Cache) ports.Cache {
	return &countingCache{Cache: c, m: m}
}

type countingCache struct {
	ports.Cache
	m *Metrics
}

var _ ports.Cache = (*countingCache)(nil)

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := c.Cache.Get(ctx, key)
	if err == nil {
		if ok {
			c.m.cacheHits.Inc()
		} else {
			c.m.cacheMisses.Inc()
		}
	}
	return v, ok, err
}

func (c *countingCache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	v, err := c.Cache.GetMany(ctx, keys)
	if err == nil {
		c.m.cacheHits.Add(float64(len(v)))
		c.m.cacheMisses.Add(float64(len(keys) - len(v)))
	}
	return v, err
}
