package main

import (
	"math/bits"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// histogram counts latencies in nanoseconds in the buckets of the Java bench's Histogram (64 sub-buckets per
// power of two), so that Bench merges and reads Go's latencies exactly as it reads its own.
type histogram [64 * sub]int64

const (
	subBits = 6
	sub     = 1 << subBits
)

func bucket(v int64) int {
	if v < sub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	exp := 63 - bits.LeadingZeros64(uint64(v)) - subBits
	return (exp+1)*sub + int(v>>uint(exp))&(sub-1)
}

func (h *histogram) record(d time.Duration) { h[bucket(int64(d))]++ }

func (h *histogram) add(o *histogram) {
	for i, c := range o {
		h[i] += c
	}
}

// encode lists the non-empty buckets as index:count, comma-separated.
func (h *histogram) encode() string {
	var b strings.Builder
	for i, c := range h {
		if c == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(c, 10))
	}
	return b.String()
}

// result is one timed run of a cell.
type result struct {
	ops, errors int64
	elapsed     time.Duration
	cpu         time.Duration // this process's user + system CPU over the run
	latency     histogram     // each call (lock, election: each cycle)
	lastErr     error
	extra       []string // key=value fields of the workload
}

func (r *result) encode() string {
	f := []string{
		"ops=" + strconv.FormatInt(r.ops, 10),
		"errors=" + strconv.FormatInt(r.errors, 10),
		"elapsed_ns=" + strconv.FormatInt(int64(r.elapsed), 10),
		"cpu_ns=" + strconv.FormatInt(int64(r.cpu), 10),
		"latency=" + r.latency.encode(),
	}
	f = append(f, r.extra...)
	if r.lastErr != nil {
		f = append(f, "last_error="+oneLine(r.lastErr))
	}
	return strings.Join(f, "\t")
}

// cpuTime is this process's CPU time, user and system, from getrusage.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// closedLoop runs n chains for d: each calls op(chain) again as soon as the previous call returned, until the
// time is up. A failed call is counted and followed by 10 ms of back-off, as in the Java bench's Load.
func closedLoop(n int, d time.Duration, started func(), op func(chain int) error) *result {
	type chain struct {
		latency     histogram
		ops, errors int64
		lastErr     error
	}
	chains := make([]chain, n)
	runtime.GC()
	started()
	cpu0 := cpuTime()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for c := range chains {
		wg.Add(1)
		go func(c int, ch *chain) {
			defer wg.Done()
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				if err := op(c); err != nil {
					ch.errors++
					ch.lastErr = err
					time.Sleep(10 * time.Millisecond)
					continue
				}
				ch.latency.record(time.Since(t0))
				ch.ops++
			}
		}(c, &chains[c])
	}
	wg.Wait()
	r := &result{elapsed: time.Since(start), cpu: cpuTime() - cpu0}
	for i := range chains {
		ch := &chains[i]
		r.latency.add(&ch.latency)
		r.ops += ch.ops
		r.errors += ch.errors
		if ch.lastErr != nil {
			r.lastErr = ch.lastErr
		}
	}
	return r
}
