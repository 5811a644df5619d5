package main

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

// holder is what a contender cycles: a mutex (Lock, Unlock) or an election (Campaign, Resign).
type holder struct {
	acquire func(ctx context.Context) error
	release func(ctx context.Context) error
}

// cycles runs n contenders on one name for d, each with a session (a lease of ttl seconds, kept alive) of its
// own on the shared client, each cycling acquire then release, as the Java bench's LockWorkload.cycles does:
// the latency of each cycle, of each acquire and each release, and of each handoff (one contender's release
// to another's acquire returning); an overlap is a contender holding while another does.
func cycles(cli *clientv3.Client, election bool, name string, n, ttl int, d time.Duration,
	started func()) (*result, error) {
	sessions, err := newSessions(cli, n, ttl)
	if err != nil {
		return nil, err
	}
	defer closeSessions(sessions)
	holders := make([]holder, n)
	for i, s := range sessions {
		if election {
			e := concurrency.NewElection(s, name)
			proposal := "candidate-" + strconv.Itoa(i)
			holders[i] = holder{func(ctx context.Context) error { return e.Campaign(ctx, proposal) }, e.Resign}
		} else {
			m := concurrency.NewMutex(s, name)
			holders[i] = holder{m.Lock, m.Unlock}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()

	type stats struct{ acquire, release, handoff histogram }
	st := make([]stats, n)
	base := time.Now()
	var holding, maxHolders, overlaps int64
	lastHolder := int64(-1)
	var releasedAt int64 // since base, just before the last release call
	r := closedLoop(n, d, started, func(c int) error {
		t0 := time.Now()
		if err := holders[c].acquire(ctx); err != nil {
			return err
		}
		t1 := time.Now()
		st[c].acquire.record(t1.Sub(t0))
		now := atomic.AddInt64(&holding, 1)
		for m := atomic.LoadInt64(&maxHolders); now > m && !atomic.CompareAndSwapInt64(&maxHolders, m, now); {
			m = atomic.LoadInt64(&maxHolders)
		}
		if now > 1 {
			atomic.AddInt64(&overlaps, 1)
		}
		if previous := atomic.SwapInt64(&lastHolder, int64(c)); previous >= 0 && previous != int64(c) {
			st[c].handoff.record(t1.Sub(base) - time.Duration(atomic.LoadInt64(&releasedAt)))
		}
		atomic.AddInt64(&holding, -1) // before the release is sent: the next can only hold once it is applied
		atomic.StoreInt64(&releasedAt, int64(time.Since(base)))
		if err := holders[c].release(ctx); err != nil {
			return err
		}
		st[c].release.record(time.Since(t1))
		return nil
	})
	var acquire, release, handoff histogram
	for i := range st {
		acquire.add(&st[i].acquire)
		release.add(&st[i].release)
		handoff.add(&st[i].handoff)
	}
	r.extra = append(r.extra,
		"acquire="+acquire.encode(),
		"release="+release.encode(),
		"handoff="+handoff.encode(),
		"overlaps="+strconv.FormatInt(overlaps, 10),
		"max_holders="+strconv.FormatInt(maxHolders, 10))
	return r, nil
}

// newSessions makes n sessions at once (not measured); on a failure it closes those it made.
func newSessions(cli *clientv3.Client, n, ttl int) ([]*concurrency.Session, error) {
	sessions := make([]*concurrency.Session, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sessions[i], errs[i] = concurrency.NewSession(cli, concurrency.WithTTL(ttl))
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			made := sessions[:0]
			for _, s := range sessions {
				if s != nil {
					made = append(made, s)
				}
			}
			closeSessions(made)
			return nil, err
		}
	}
	return sessions, nil
}

// closeSessions ends every session's lease (what a contender held goes with it).
func closeSessions(sessions []*concurrency.Session) {
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func(s *concurrency.Session) {
			defer wg.Done()
			s.Close()
		}(s)
	}
	wg.Wait()
}
