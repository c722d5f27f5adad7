// goroutineleak is the most common Go leak: every "request" starts a goroutine that waits on a
// channel nobody ever sends to. Each one keeps its stack (grown past the initial 8 KiB by the
// handler's frames) and a small request object on the heap, so the memory is mostly goroutine
// stacks (runtime.MemStats StackInuse), not heap objects.
//
//	goroutineleak -rate 200 -stack 16384 -pprof 127.0.0.1:6060
package main

import (
	"flag"
	"time"

	"memaudit.local/apps/internal/target"
)

type request struct {
	id    uint64
	reply chan []byte
}

// handle grows its stack by about `depth` frames of 1 KiB, then blocks forever: the reply never comes.
//
//go:noinline
func handle(r *request, depth int) byte {
	var frame [1024]byte
	frame[0] = byte(r.id)
	if depth > 0 {
		return frame[0] + handle(r, depth-1)
	}
	<-r.reply
	return frame[0]
}

func main() {
	rate := flag.Int("rate", 200, "leaked goroutines per second")
	stack := flag.Int("stack", 16<<10, "stack each goroutine grows to, bytes (about)")
	max := flag.Int("max", 2_000_000, "stop leaking after this many goroutines (a safety cap)")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("goroutineleak", *pprofAddr)
	target.Ready("goroutineleak", "leaking %d goroutines/s with ~%d B stacks", *rate, *stack)

	depth := *stack / 1100
	var n uint64
	// One "byte" of PacedChunks is one goroutine here: rate goroutines a second, one per chunk.
	target.PacedChunks(int64(*rate), 1, 100*time.Millisecond, target.StopOnSignal(), func() bool {
		r := &request{id: n, reply: make(chan []byte)}
		go handle(r, depth)
		n++
		return int(n) < *max
	})
}
