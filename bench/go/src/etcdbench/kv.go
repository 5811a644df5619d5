package main

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// The shapes of the Java bench (Bench.KEY_BYTES, VALUE_BYTES, KEYS).
const (
	keyBytes   = 32
	valueBytes = 256
	keys       = 1000
)

var value = func() string {
	b := make([]byte, valueBytes)
	rand.New(rand.NewSource(42)).Read(b)
	return string(b)
}()

// key is exactly keyBytes long: bench/<kind>/ and a zero-padded number, as Bench.key makes them.
func key(kind string, i int) string {
	p := "bench/" + kind + "/"
	n := strconv.Itoa(i)
	return p + strings.Repeat("0", keyBytes-len(p)-len(n)) + n
}

func keyList(kind string, n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = key(kind, i)
	}
	return l
}

// kv runs a KV workload with n calls in flight for d: put and get of the 1,000 keys in turn; txn a
// compare-and-set on a key of each chain's own whose version the chain knows, so every compare holds.
func kv(cli *clientv3.Client, workload string, n int, d time.Duration, started func()) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	var next uint32
	turn := func() int { return int((atomic.AddUint32(&next, 1) - 1) % keys) }
	switch workload {
	case "put":
		ks := keyList("put", keys)
		return closedLoop(n, d, started, func(int) error {
			_, err := cli.Put(ctx, ks[turn()], value)
			return err
		}), nil
	case "get-linearizable", "get-serializable":
		ks := keyList("get", keys)
		var opts []clientv3.OpOption
		if workload == "get-serializable" {
			opts = append(opts, clientv3.WithSerializable())
		}
		return closedLoop(n, d, started, func(int) error {
			_, err := cli.Get(ctx, ks[turn()], opts...)
			return err
		}), nil
	case "txn":
		return txn(ctx, cli, n, d, started)
	}
	return nil, fmt.Errorf("unknown kv workload %q", workload)
}

func txn(ctx context.Context, cli *clientv3.Client, n int, d time.Duration, started func()) (*result, error) {
	ks := keyList("txn-g", n)
	versions := make([]int64, n)
	for i, k := range ks {
		v, err := keyVersion(ctx, cli, k)
		if err != nil {
			return nil, err
		}
		versions[i] = v
	}
	var failed int64
	r := closedLoop(n, d, started, func(c int) error {
		k := ks[c]
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Version(k), "=", versions[c])).
			Then(clientv3.OpPut(k, value)).
			Commit()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			versions[c]++
			return nil
		}
		atomic.AddInt64(&failed, 1)
		versions[c], err = keyVersion(ctx, cli, k)
		return err
	})
	r.extra = append(r.extra, "compares_failed="+strconv.FormatInt(failed, 10))
	return r, nil
}

// keyVersion is the key's version, 0 when it is missing.
func keyVersion(ctx context.Context, cli *clientv3.Client, k string) (int64, error) {
	resp, err := cli.Get(ctx, k)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return resp.Kvs[0].Version, nil
}
