// Command story runs the whole life of one email on loopback, in one
// process, with no setup:
//
//		go run ./examples/story
//
//	 1. An in-process DNS server publishes MX records for bob.example,
//	    jim.example and sara.example.
//	 2. Bob's relay starts (submission port, delivery queue, MX delivery),
//	    and so does the mail provider that receives for jim.example and
//	    sara.example (SMTP receiver, POP3 and IMAP on a Maildir store in a
//	    temporary directory).
//	 3. Bob's client submits one message to Jim and Sara (STARTTLS, AUTH).
//	 4. The relay looks up the MX records and delivers, one transaction per
//	    domain.
//	 5. Jim downloads the message with POP3 and deletes it from the server.
//	 6. Sara's laptop and phone both see it over IMAP; the phone, in IDLE,
//	    sees the laptop mark it \Seen and move it into a folder.
//
// It narrates each step with the key protocol lines and exits 0 only when
// every step was verified; otherwise it exits 1 naming the step that failed.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func main() { os.Exit(tell(os.Stdout, os.Stderr)) }

// tell runs the story and returns the exit status.
func tell(out, errOut io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := newWorld(out, errOut)
	if err != nil {
		fmt.Fprintln(out, "FAILED before the story began:", err)
		return 1
	}
	defer w.close()
	return w.run(ctx, w.steps())
}

// step is one chapter of the story.
type step struct {
	name string
	run  func(context.Context) error
}

func (w *world) steps() []step {
	return []step{
		{"DNS publishes MX records", w.publishDNS},
		{"servers start", w.startServers},
		{"Bob submits", w.bobSubmits},
		{"the relay delivers", w.relayDelivers},
		{"Jim downloads with POP3", w.jimDownloads},
		{"Sara's laptop and phone", w.saraReads},
	}
}

// run tells steps in order and returns 0 when every one was verified, 1
// naming the first that failed otherwise.
func (w *world) run(ctx context.Context, steps []step) int {
	w.n.printf("The story of one email, on loopback, with Posthorn.\n")
	for i, s := range steps {
		if err := s.run(ctx); err != nil {
			w.n.printf("\nFAILED at step %d (%s): %v\n", i+1, s.name, err)
			return 1
		}
	}
	w.n.printf("\nThe end: all %d steps verified.\n", len(steps))
	return 0
}
