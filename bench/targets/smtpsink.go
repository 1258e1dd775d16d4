package targets

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// PostfixSink starts Postfix's smtp-sink (Debian postfix), a C SMTP server
// that discards everything: the near-zero-cost reference. It runs as
// nobody when started as root.
func PostfixSink() (addr string, stop func(), err error) {
	bin, err := exec.LookPath("smtp-sink")
	if err != nil {
		return "", nil, fmt.Errorf("smtp-sink not installed (apt-get install postfix): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"-c", "-4"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(args, addr, "1024")
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("smtp-sink did not start on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
