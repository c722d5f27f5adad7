// filesaver is the classic false alarm: an HTTP service that appends every message it receives
// to a file. Its Go heap stays flat; its cgroup's usage climbs with the page cache of the file,
// which the kernel reclaims when the cgroup reaches its limit.
//
//	filesaver -dir /tmp/msgs -selfload 200 -size 8192 -pprof 127.0.0.1:6060
//
// POST /msg appends the body (plus a newline) to DIR/messages.log, or with -files saves each
// message in a file of its own (DIR/msg-N), the small-file writer whose dentries and inodes grow
// beside its page cache. -selfload N makes the program post N messages a second of -size bytes to
// itself, so no load generator is needed.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"memaudit.local/apps/internal/target"
)

type saver struct {
	mu   sync.Mutex
	file *os.File // nil with -files
	dir  string
	seq  int
}

func (s *saver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a message body", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.file != nil {
		_, err = s.file.Write(append(body, '\n'))
	} else {
		s.seq++
		err = os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("msg-%d", s.seq)), body, 0o644)
	}
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func selfLoad(url string, perSecond, size int) {
	client := &http.Client{Timeout: 5 * time.Second}
	msg := bytes.Repeat([]byte("m"), size)
	t := time.NewTicker(time.Second / time.Duration(perSecond))
	defer t.Stop()
	for seq := 0; ; seq++ {
		<-t.C
		copy(msg, fmt.Sprintf("%012d ", seq))
		resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(msg))
		if err != nil {
			log.Printf("filesaver: selfload: %v", err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func main() {
	dir := flag.String("dir", os.TempDir(), "directory of messages.log")
	listen := flag.String("listen", "127.0.0.1:0", "address of the message listener (port 0 picks one)")
	perSecond := flag.Int("selfload", 0, "messages per second the program posts to itself (0 = none)")
	size := flag.Int("size", 4096, "bytes per self-posted message")
	perFile := flag.Bool("files", false, "save each message in a file of its own instead of appending to messages.log")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("filesaver", *pprofAddr)

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatalf("filesaver: %v", err)
	}
	path := filepath.Join(*dir, "messages.log")
	var f *os.File
	if *perFile {
		path = filepath.Join(*dir, "msg-N")
	} else {
		var err error
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			log.Fatalf("filesaver: %v", err)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("filesaver: listen %s: %v", *listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/msg", &saver{file: f, dir: *dir})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { log.Fatal(srv.Serve(ln)) }()
	if *perSecond > 0 {
		go selfLoad("http://"+ln.Addr().String()+"/msg", *perSecond, *size)
	}
	target.Ready("filesaver", "listening on %s file %s selfload %d/s x %d B", ln.Addr(), path, *perSecond, *size)
	<-target.StopOnSignal()
	if f != nil {
		f.Close()
	}
}
