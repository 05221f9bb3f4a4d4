package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of the API, registered on a private
// registry (no global state). [New] makes its own unless [WithMetrics]
// passes a set; feed the cache counters with [Metrics.ObserveCache].
type Metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	ordersPlaced   prometheus.Counter
	stockConflicts prometheus.Counter
	// respHits and respMisses count lookups of rendered product responses
	// in the ResponseCache (shared by the replicas when it is Redis).
	respHits, respMisses prometheus.Counter
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
		respHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_response_cache_hits_total",
			Help: "Product responses sent from the cache of rendered responses (no store or product-cache read).",
		}),
		respMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecolaura_response_cache_misses_total",
			Help: "Cacheable product responses rendered because the cache had no current copy.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.ordersPlaced, m.stockConflicts, m.respHits, m.respMisses,
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

// Handler serves the registry in the Prometheus exposition formats. The
// API itself does not serve it: mount it on a listener operators reach and
// the public does not (cmd/ecolaura's operations listener).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// methodLabel maps a request method to a constant label value: the
// methods HTTP registers (RFC 9110 and PATCH) are themselves, anything else
// is "other". The result never points into the request's buffer, which
// fasthttp reuses for the next request on the connection (a label kept by
// the registry would change under it), and the label's values are bounded.
func methodLabel(method []byte) string {
	switch string(method) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	}
	return "other"
}

// observe counts one response. Every label must be a string the request
// does not own: method from [methodLabel], route a registered template or
// a constant.
func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	s := statusLabel(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return strconv.Itoa(code)
	}
	return "other"
}

// CacheCounts are cumulative cache lookups, read when /metrics is scraped.
type CacheCounts struct {
	Hits, Misses uint64
	// Errors counts cache operations that failed (each request was served
	// from the store instead).
	Errors uint64
	// Outages counts transitions of a shared cache (Redis) from reachable to
	// unreachable; 0 for an in-process cache.
	Outages uint64
}

// ObserveCache exports the counts read by f (for example the product
// cache's Stats) as ecolaura_cache_hits_total, ecolaura_cache_misses_total,
// ecolaura_cache_errors_total and ecolaura_cache_outages_total.
// Call it at most once per Metrics.
func (m *Metrics) ObserveCache(f func() CacheCounts) error {
	counters := []struct {
		name, help string
		value      func(CacheCounts) uint64
	}{
		{"ecolaura_cache_hits_total", "Cache lookups that found a value (products, lists, categories).", func(c CacheCounts) uint64 { return c.Hits }},
		{"ecolaura_cache_misses_total", "Cache lookups that found nothing (products, lists, categories).", func(c CacheCounts) uint64 { return c.Misses }},
		{"ecolaura_cache_errors_total", "Cache operations that failed; the request was served from the store.", func(c CacheCounts) uint64 { return c.Errors }},
		{"ecolaura_cache_outages_total", "Times the shared cache (Redis) became unreachable.", func(c CacheCounts) uint64 { return c.Outages }},
	}
	for _, c := range counters {
		value := c.value
		counter := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, func() float64 { return float64(value(f())) })
		if err := m.registry.Register(counter); err != nil {
			return fmt.Errorf("register cache metric %s: %w", c.name, err)
		}
	}
	return nil
}

// MailCounts are the cumulative sends of one message kind, read when
// /metrics is scraped (for example from notify.Notifier.Stats).
type MailCounts struct {
	Kind string
	// Sent were accepted by the mail server; Failed may succeed on a retry;
	// Rejected were refused for good (SMTP 5xx) and are not retried.
	Sent, Failed, Rejected uint64
}

// ObserveMail exports the counts read by f as
// ecolaura_mail_messages_total{kind, outcome="sent|failed|rejected"}.
// Call it at most once per Metrics.
func (m *Metrics) ObserveMail(f func() []MailCounts) error {
	if err := m.registry.Register(mailCollector{f}); err != nil {
		return fmt.Errorf("register mail metrics: %w", err)
	}
	return nil
}

var mailDesc = prometheus.NewDesc("ecolaura_mail_messages_total",
	"Emails by message kind and outcome: sent (accepted by the mail server), failed (will be retried), rejected (refused for good, SMTP 5xx; not retried).",
	[]string{"kind", "outcome"}, nil)

// mailCollector reads the counts at scrape time.
type mailCollector struct{ read func() []MailCounts }

func (c mailCollector) Describe(ch chan<- *prometheus.Desc) { ch <- mailDesc }

func (c mailCollector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range c.read() {
		for _, o := range []struct {
			outcome string
			n       uint64
		}{{"sent", k.Sent}, {"failed", k.Failed}, {"rejected", k.Rejected}} {
			ch <- prometheus.MustNewConstMetric(mailDesc, prometheus.CounterValue, float64(o.n), k.Kind, o.outcome)
		}
	}
}
