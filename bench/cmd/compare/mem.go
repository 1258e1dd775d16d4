package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

const idleConns = 1000

// memTargets are served one at a time in a child process so that only the
// server's memory is counted (PSS of the child and its descendants, which
// includes Dovecot's and smtp-sink's processes).
var memTargets = []string{
	"smtp:posthorn", "smtp:go-smtp", "smtp:postfix-smtp-sink", "smtp:raw-responder",
	"imap:posthorn", "imap:go-imap-mem", "imap:dovecot",
	"pop3:posthorn", "pop3:dovecot",
}

// serveTarget is the child: it starts one target (holding n messages of
// load.Corpus(n, 1); 0: ten small ones), prints its address and then
// obeys stdin: "GC" returns freed memory to the OS, EOF stops.
func serveTarget(spec string, n int) error {
	proto, name, _ := strings.Cut(spec, ":")
	dir, err := os.MkdirTemp("/tmp", "phm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	msgs := load.Corpus(10, 3)
	if n > 0 {
		msgs = load.Corpus(n, 1)
	}
	var addr string
	var stop func()
	switch proto {
	case "smtp":
		for _, t := range smtpTargets {
			if t.name == name {
				addr, stop, err = t.start()
			}
		}
	case "imap":
		for _, t := range imapTargets {
			if t.name == name {
				addr, stop, err = t.start(dir, msgs)
			}
		}
	case "pop3":
		for _, t := range pop3Targets {
			if t.name == name {
				addr, stop, err = t.start(dir, msgs)
			}
		}
	}
	if err != nil {
		return err
	}
	if stop == nil {
		return fmt.Errorf("unknown target %q", spec)
	}
	defer stop()
	fmt.Printf("ADDR %s\n", addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "GC" {
			runtime.GC()
			debug.FreeOSMemory()
			fmt.Println("OK")
		}
	}
	return nil
}

func (c *compare) mem() {
	rows := map[string]*row{}
	for _, spec := range memTargets {
		proto, name, _ := strings.Cut(spec, ":")
		if rows[proto] == nil {
			what := map[string]string{"smtp": "after EHLO", "imap": "after LOGIN", "pop3": "after the greeting"}[proto]
			rows[proto] = c.row("Memory per idle "+strings.ToUpper(proto)+" connection (PSS of the server's processes)",
				fmt.Sprintf("%d connections, %s", idleConns, what), "KiB", false)
		}
		kib, err := measureIdle(spec, proto)
		if err != nil {
			c.note("memory %s: %v", spec, err)
			continue
		}
		rows[proto].values[name] = kib
	}
}

// child is a target served by this program in a child process.
type child struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild serves spec ("imap:posthorn-mem") with msgs messages (0: ten
// small ones) in a child process, so that it shares neither CPU
// accounting nor the garbage collector with the measuring process.
func startChild(spec string, msgs int) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", spec, "-serve-msgs", strconv.Itoa(msgs))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := ch.out.ReadString('\n')
	if err != nil {
		ch.stop()
		return nil, fmt.Errorf("child: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if !ok {
		ch.stop()
		return nil, fmt.Errorf("child said %q", line)
	}
	ch.addr = addr
	return ch, nil
}

// stop ends the child (EOF on its stdin) and waits for it.
func (ch *child) stop() { ch.stdin.Close(); ch.cmd.Wait() }

func measureIdle(spec, proto string) (float64, error) {
	ch, err := startChild(spec, 0)
	if err != nil {
		return 0, err
	}
	defer ch.stop()
	cmd, addr := ch.cmd, ch.addr
	gc := func() {
		fmt.Fprintln(ch.stdin, "GC")
		ch.out.ReadString('\n')
	}
	// Warm up with a few connections, then take the baseline.
	var warm []net.Conn
	for i := 0; i < 5; i++ {
		if cn, err := openIdle(proto, addr); err == nil {
			warm = append(warm, cn)
		}
	}
	for _, cn := range warm {
		cn.Close()
	}
	time.Sleep(500 * time.Millisecond)
	gc()
	before := pss(cmd.Process.Pid)
	conns := make([]net.Conn, 0, idleConns)
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	for i := 0; i < idleConns; i++ {
		cn, err := openIdle(proto, addr)
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, cn)
	}
	time.Sleep(time.Second)
	gc()
	after := pss(cmd.Process.Pid)
	return float64(after-before) / idleConns, nil
}

// openIdle opens a connection and brings it to the idle state of proto:
// after EHLO (SMTP), after LOGIN (IMAP), after the greeting (POP3: a login
// would take the maildrop lock).
func openIdle(proto, addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	readLine := func() (string, error) {
		l, err := br.ReadString('\n')
		return l, err
	}
	fail := func(err error) (net.Conn, error) { c.Close(); return nil, err }
	if _, err := readLine(); err != nil {
		return fail(err)
	}
	switch proto {
	case "smtp":
		fmt.Fprintf(c, "EHLO idle.example\r\n")
		for {
			l, err := readLine()
			if err != nil {
				return fail(err)
			}
			if len(l) < 4 || l[3] != '-' {
				break
			}
		}
	case "imap":
		fmt.Fprintf(c, "a LOGIN %s %s\r\n", targets.IMAPUser, targets.IMAPPass)
		for {
			l, err := readLine()
			if err != nil {
				return fail(err)
			}
			if strings.HasPrefix(l, "a ") {
				if !strings.HasPrefix(l, "a OK") {
					return fail(fmt.Errorf("LOGIN: %s", strings.TrimSpace(l)))
				}
				break
			}
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// pss returns the proportional set size in KiB of pid and its descendants.
func pss(pid int) int64 {
	var total int64
	for _, p := range descendants(pid) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "smaps_rollup"))
		if err != nil {
			continue
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if f := bytes.Fields(l); len(f) >= 2 && string(f[0]) == "Pss:" {
				n, _ := strconv.ParseInt(string(f[1]), 10, 64)
				total += n
			}
		}
	}
	return total
}

func descendants(root int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may contain spaces.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(data[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		parent[pid] = ppid
	}
	out := []int{root}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if contains(out, pp) && !contains(out, pid) {
				out = append(out, pid)
				changed = true
			}
		}
	}
	return out
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
