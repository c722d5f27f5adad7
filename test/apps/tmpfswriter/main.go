// tmpfswriter fills a tmpfs (default /dev/shm) with files it keeps. tmpfs pages are charged to
// the writer's cgroup as "cache"/"file" but are shmem: the kernel cannot reclaim them without
// swap, so this is a leak even though it looks like page cache.
//
//	tmpfswriter -dir /dev/shm -rate 1048576 -file-size 262144
//
// Files go to DIR/tmpfswriter-PID/ and are removed on SIGTERM/SIGINT unless -keep.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"memaudit.local/apps/internal/target"
)

func main() {
	dir := flag.String("dir", "/dev/shm", "tmpfs directory to write into")
	rate := flag.Int64("rate", 1<<20, "bytes written (and kept) per second")
	fileSize := flag.Int("file-size", 256<<10, "bytes per file")
	limit := flag.Int64("max", 1<<30, "stop writing after this many bytes (a safety cap)")
	keep := flag.Bool("keep", false, "leave the files behind on exit")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("tmpfswriter", *pprofAddr)

	out := filepath.Join(*dir, fmt.Sprintf("tmpfswriter-%d", os.Getpid()))
	if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatalf("tmpfswriter: %v", err)
	}
	buf := make([]byte, *fileSize)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	target.Ready("tmpfswriter", "writing %d B/s into %s", *rate, out)

	var written int64
	seq := 0
	target.PacedChunks(*rate, *fileSize, 100*time.Millisecond, target.StopOnSignal(), func() bool {
		name := filepath.Join(out, fmt.Sprintf("blob-%06d", seq))
		if err := os.WriteFile(name, buf, 0o644); err != nil {
			log.Fatalf("tmpfswriter: %v", err)
		}
		seq++
		written += int64(*fileSize)
		return written < *limit
	})
	if !*keep {
		os.RemoveAll(out)
	}
}
