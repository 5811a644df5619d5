// Command etcdbench runs the bench's workloads with etcd's own Go client (clientv3 and its concurrency
// package), one cell at a time, as io.etcdrecipes.bench.Bench asks on stdin. One client is shared by every
// call and contender of a cell, as the Java targets share theirs.
//
// Protocol: a line per command on stdin, answered on stdout.
//
//	(on start)                        ready<TAB>go1.19.8<TAB>clientv3 3.4.23<TAB>protocol 1
//	kv WORKLOAD IN_FLIGHT NANOS       put, get-linearizable, get-serializable or txn
//	lock NAME CONTENDERS TTL NANOS    a concurrency.Session and a concurrency.Mutex per contender
//	election NAME CONTENDERS TTL NANOS a concurrency.Session and a concurrency.Election per contender
//	quit
//
// Each command answers "started" when its timed run begins (the caller samples etcd's CPU then), and then
// "done" followed by TAB-separated key=value fields (see result.encode), or "failed<TAB>message" when the
// cell could not run at all. The CPU time reported is this process's own (getrusage), over the timed run.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/version"
)

const protocol = 1

func main() {
	endpoints := flag.String("endpoints", "http://127.0.0.1:2379", "etcd endpoints, comma-separated")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	reply := func(format string, args ...interface{}) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	cli, err := connect(strings.Split(*endpoints, ","))
	if err != nil {
		reply("failed\t%s", oneLine(err))
		os.Exit(1)
	}
	defer cli.Close()
	reply("ready\t%s\tclientv3 %s\tprotocol %d", runtime.Version(), version.Version, protocol)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" {
			return
		}
		r, err := command(cli, f, func() { reply("started") })
		if err != nil {
			reply("failed\t%s", oneLine(err))
			continue
		}
		reply("done\t%s", r.encode())
	}
}

// connect makes the client and waits until etcd answers a read.
func connect(endpoints []string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "bench/ready"); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// command runs one cell; started is called when its timed run begins.
func command(cli *clientv3.Client, f []string, started func()) (*result, error) {
	switch {
	case f[0] == "kv" && len(f) == 4:
		n, d, err := ints(f[2], f[3])
		if err != nil {
			return nil, err
		}
		return kv(cli, f[1], int(n), time.Duration(d), started)
	case (f[0] == "lock" || f[0] == "election") && len(f) == 5:
		n, ttl, err := ints(f[2], f[3])
		if err != nil {
			return nil, err
		}
		d, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return nil, err
		}
		return cycles(cli, f[0] == "election", f[1], int(n), int(ttl), time.Duration(d), started)
	}
	return nil, fmt.Errorf("unknown command %q", strings.Join(f, " "))
}

func ints(a, b string) (int64, int64, error) {
	x, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	y, err := strconv.ParseInt(b, 10, 64)
	return x, y, err
}

// oneLine keeps a message on one protocol line.
func oneLine(err error) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(err.Error())
}
