// heapleak is a real Go heap leak: every "request" it handles is remembered in a global map
// that is never pruned. The retaining allocation happens in main.retainRequest, so a diff of
// two heap profiles names it.
//
//	heapleak -rate 524288 -pprof 127.0.0.1:6060
package main

import (
	"flag"
	"time"

	"memaudit.local/apps/internal/target"
)

// requestLog is the leak: a map from request id to its body, meant as a debugging aid and
// never pruned.
var requestLog = map[uint64][]byte{}

var nextID uint64

//go:noinline
func retainRequest(size int) {
	body := make([]byte, size)
	target.Fill(body, byte(nextID))
	requestLog[nextID] = body
	nextID++
}

func main() {
	rate := flag.Int64("rate", 512<<10, "bytes retained per second")
	size := flag.Int("size", 16<<10, "bytes per retained request")
	limit := flag.Int64("max", 4<<30, "stop retaining after this many bytes (a safety cap)")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("heapleak", *pprofAddr)
	target.Ready("heapleak", "retaining %d B/s in %d B requests", *rate, *size)

	var retained int64
	target.PacedChunks(*rate, *size, 100*time.Millisecond, target.StopOnSignal(), func() bool {
		retainRequest(*size)
		retained += int64(*size)
		return retained < *limit
	})
}
