package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuMeter measures the CPU time a benchmark costs: this process's (the
// client: Go, pgx, Bun, River) and the PostgreSQL backends' of the
// benchmark's database, read from /proc when the server runs on this
// machine. On a shared machine, CPU per operation moves much less with
// other people's load than time per operation does, and on 2 cores it is
// what bounds throughput.
type cpuMeter struct {
	pool   *pgxpool.Pool // any connection to the benchmark's database
	client time.Duration
	server map[int]time.Duration
	ok     bool // the backends' /proc entries are readable
}

// start records the CPU used so far.
func (m *cpuMeter) start(ctx context.Context) {
	m.client = selfCPU()
	m.server, m.ok = m.backends(ctx)
}

// report adds client-cpu-µs/op and, when the backends are readable,
// server-cpu-µs/op to b's results. A backend that started after start
// counts from its start; the meter's own connection is one of them,
// idle.
func (m *cpuMeter) report(ctx context.Context, b *testing.B) {
	client := selfCPU() - m.client
	server, ok := m.backends(ctx)
	b.ReportMetric(float64(client.Microseconds())/float64(b.N), "client-cpu-µs/op")
	if !ok || !m.ok {
		return
	}
	var d time.Duration
	for pid, t := range server {
		d += t - m.server[pid]
	}
	b.ReportMetric(float64(d.Microseconds())/float64(b.N), "server-cpu-µs/op")
}

// backends returns the CPU time of every backend of the database by PID.
func (m *cpuMeter) backends(ctx context.Context) (map[int]time.Duration, bool) {
	rows, err := m.pool.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		return nil, false
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, false
		}
		t, err := procCPU(pid)
		if err != nil {
			return nil, false
		}
		out[pid] = t
	}
	return out, rows.Err() == nil
}

// procCPU returns the user + system CPU time of a process (Linux).
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // after the command name
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	const tick = 10 * time.Millisecond // USER_HZ = 100 on Linux
	return time.Duration(utime+stime) * tick, nil
}

// selfCPU returns this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
