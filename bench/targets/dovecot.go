package targets

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Dovecot starts a private Dovecot (Debian dovecot-imapd, dovecot-pop3d) on
// a free loopback port serving msgs from a Maildir under dir, which must be
// short (socket paths) and searchable by every user. It runs as root and
// opens mail as nobody. It returns the IMAP and POP3 addresses.
func Dovecot(dir string, msgs [][]byte) (imapAddr, pop3Addr string, stop func(), err error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		return "", "", nil, fmt.Errorf("dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d): %w", err)
	}
	const uid, gid = 65534, 65534 // nobody
	mail := filepath.Join(dir, "mail")
	if err := WriteMaildir(filepath.Join(mail, IMAPUser), msgs); err != nil {
		return "", "", nil, err
	}
	for _, d := range []string{"run", "state", "log"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chmod(dir, 0o755)
	if err := filepath.Walk(mail, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return "", "", nil, err
	}
	users := filepath.Join(dir, "users")
	line := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::\n", IMAPUser, IMAPPass, uid, gid, filepath.Join(mail, IMAPUser))
	if err := os.WriteFile(users, []byte(line), 0o644); err != nil {
		return "", "", nil, err
	}
	imapPort, err := freePort()
	if err != nil {
		return "", "", nil, err
	}
	pop3Port, err := freePort()
	if err != nil {
		return "", "", nil, err
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log/dovecot.log
instance_name = bench-%[2]d
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[3]s
}
userdb {
  driver = passwd-file
  args = %[3]s
}
mail_location = maildir:~
mail_uid = %[4]d
mail_gid = %[5]d
first_valid_uid = %[4]d
last_valid_uid = %[4]d
first_valid_gid = %[5]d
last_valid_gid = %[5]d
mail_max_userip_connections = 2000
namespace inbox {
  inbox = yes
  separator = /
}
protocol pop3 {
  pop3_uidl_format = %%08Xu%%08Xv
}
service imap-login {
  inet_listener imap {
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
  process_min_avail = 1
}
service pop3-login {
  inet_listener pop3 {
    port = %[6]d
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap {
  process_limit = 2048
}
service anvil {
  client_limit = 8000
}
service auth {
  client_limit = 8000
}
default_client_limit = 8000
default_process_limit = 2048
`, dir, imapPort, users, uid, gid, pop3Port)
	cfg := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return "", "", nil, err
	}
	cmd := exec.Command(bin, "-F", "-c", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", "", nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	imapAddr = "127.0.0.1:" + strconv.Itoa(imapPort)
	pop3Addr = "127.0.0.1:" + strconv.Itoa(pop3Port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", imapAddr, time.Second)
		if err == nil {
			c.Close()
			return imapAddr, pop3Addr, stop, nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
			return "", "", nil, fmt.Errorf("dovecot exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", "", nil, fmt.Errorf("dovecot did not start listening on %s", imapAddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
