package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ecolaura/ecolaura/adapters/postgres"
	"github.com/ecolaura/ecolaura/adapters/redis"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
)

// newProcessRegistry is the registry of a process without the HTTP API
// (the worker): the Go runtime and process collectors.
func newProcessRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// processMetrics are what serve and worker export besides the HTTP
// metrics, read when /metrics is scraped. Nil fields export nothing.
type processMetrics struct {
	db      *postgres.Database
	runner  *postgres.JobRunner
	cache   *redis.Cache
	limiter *redis.RateLimiter
	mail    func() *notify.Notifier
	log     *slog.Logger
}

var (
	poolConnsDesc = prometheus.NewDesc("ecolaura_db_pool_connections",
		"Connections of the PostgreSQL pool by state: in_use (acquired), idle, constructing (being dialled).", []string{"state"}, nil)
	poolMaxDesc = prometheus.NewDesc("ecolaura_db_pool_max_connections",
		"Bound of the PostgreSQL pool (ECOLAURA_DATABASE_MAX_CONNS).", nil, nil)
	poolAcquiresDesc = prometheus.NewDesc("ecolaura_db_pool_acquires_total",
		"Connections taken from the PostgreSQL pool.", nil, nil)
	poolWaitsDesc = prometheus.NewDesc("ecolaura_db_pool_waits_total",
		"Acquisitions that waited because no connection was idle (a pool too small shows here first).", nil, nil)
	poolWaitSecondsDesc = prometheus.NewDesc("ecolaura_db_pool_wait_seconds_total",
		"Time acquisitions spent waiting for a connection.", nil, nil)
	poolCanceledDesc = prometheus.NewDesc("ecolaura_db_pool_canceled_acquires_total",
		"Acquisitions abandoned because their request or job ended first.", nil, nil)
	queueDepthDesc = prometheus.NewDesc("ecolaura_jobs_queued",
		"Jobs not finished in the shared River queue by job kind and state (available, scheduled, retryable, running, pending); the same for every process of a database.",
		[]string{"kind", "state"}, nil)
	queueUpDesc = prometheus.NewDesc("ecolaura_jobs_queue_scrape_success",
		"1 when ecolaura_jobs_queued could be read from the database at this scrape, else 0.", nil, nil)
	jobRunsDesc = prometheus.NewDesc("ecolaura_jobs_total",
		"Job runs of this process by job kind and outcome: completed, retried (failed, will run again), discarded (failed its last attempt), cancelled (failed for good).",
		[]string{"kind", "outcome"}, nil)
	jobSecondsDesc = prometheus.NewDesc("ecolaura_job_run_seconds_total",
		"Time spent running jobs by job kind.", []string{"kind"}, nil)
	redisErrorsDesc = prometheus.NewDesc("ecolaura_redis_errors_total",
		"Redis calls that failed (unreachable, slow, or refused while marked down) by client: cache, rate_limiter.", []string{"client"}, nil)
	redisLookupsDesc = prometheus.NewDesc("ecolaura_redis_cache_lookups_total",
		"Keys looked up in the Redis cache (found or not).", nil, nil)
	redisLocalDesc = prometheus.NewDesc("ecolaura_redis_client_cache_hits_total",
		"Lookups answered from the client-side cache in process memory, without a Redis round trip.", nil, nil)
	redisRatioDesc = prometheus.NewDesc("ecolaura_redis_client_cache_hit_ratio",
		"Share of Redis cache lookups answered from the client-side cache since the start (0 before the first lookup).", nil, nil)
	mailDesc = prometheus.NewDesc("ecolaura_mail_messages_total",
		"Emails by message kind and outcome: sent (accepted by the mail server), failed (will be retried), rejected (refused for good, SMTP 5xx; not retried).",
		[]string{"kind", "outcome"}, nil)
)

// Describe implements prometheus.Collector.
func (p *processMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolWaitsDesc, poolWaitSecondsDesc, poolCanceledDesc,
		queueDepthDesc, queueUpDesc, jobRunsDesc, jobSecondsDesc, redisErrorsDesc, redisLookupsDesc, redisLocalDesc, redisRatioDesc, mailDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *processMetrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if p.db != nil {
		s := p.db.PoolStats()
		gauge(poolConnsDesc, float64(s.AcquiredConns), "in_use")
		gauge(poolConnsDesc, float64(s.IdleConns), "idle")
		gauge(poolConnsDesc, float64(s.ConstructingConns), "constructing")
		gauge(poolMaxDesc, float64(s.MaxConns))
		counter(poolAcquiresDesc, float64(s.Acquires))
		counter(poolWaitsDesc, float64(s.Waits))
		counter(poolWaitSecondsDesc, s.WaitTime.Seconds())
		counter(poolCanceledDesc, float64(s.CanceledAcquires))

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		depths, err := p.db.QueueDepths(ctx)
		cancel()
		if err != nil {
			p.log.Warn("metrics: cannot count queued jobs", slog.Any("err", err))
			gauge(queueUpDesc, 0)
		} else {
			gauge(queueUpDesc, 1)
			for _, d := range depths {
				gauge(queueDepthDesc, float64(d.Jobs), d.Kind, d.State)
			}
		}
	}
	if p.runner != nil {
		for _, o := range p.runner.Outcomes() {
			counter(jobRunsDesc, float64(o.Completed), o.Kind, "completed")
			counter(jobRunsDesc, float64(o.Retried), o.Kind, "retried")
			counter(jobRunsDesc, float64(o.Discarded), o.Kind, "discarded")
			counter(jobRunsDesc, float64(o.Cancelled), o.Kind, "cancelled")
			counter(jobSecondsDesc, o.Duration.Seconds(), o.Kind)
		}
	}
	if p.cache != nil {
		s := p.cache.Stats()
		counter(redisErrorsDesc, float64(s.Errors), "cache")
		lookups := s.Hits + s.Misses
		counter(redisLookupsDesc, float64(lookups))
		counter(redisLocalDesc, float64(s.LocalHits))
		ratio := 0.0
		if lookups > 0 {
			ratio = float64(s.LocalHits) / float64(lookups)
		}
		gauge(redisRatioDesc, ratio)
	}
	if p.limiter != nil {
		counter(redisErrorsDesc, float64(p.limiter.Stats().Errors), "rate_limiter")
	}
	if p.mail != nil {
		if n := p.mail(); n != nil {
			for _, st := range n.Stats() {
				counter(mailDesc, float64(st.Sent), string(st.Kind), "sent")
				counter(mailDesc, float64(st.Failed), string(st.Kind), "failed")
				counter(mailDesc, float64(st.Rejected), string(st.Kind), "rejected")
			}
		}
	}
}
