package imap_test

import (
	"context"
	"crypto/tls"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// A server over an in-memory store, offering STARTTLS. Sessions look like
// this (netcat transcript, credentials after STARTTLS):
//
//	S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED ...] Posthorn IMAP ready
//	C: a STARTTLS
//	S: a OK Begin TLS negotiation now
//	   ... TLS handshake ...
//	C: b LOGIN jim secret
//	S: b OK [CAPABILITY IMAP4rev1 IMAP4rev2 ...] Logged in
//	C: c SELECT INBOX
//	S: * 0 EXISTS
//	S: ...
//	S: c OK [READ-WRITE] SELECT completed
func ExampleServer() {
	store := memstore.New()
	if err := store.AddUser("jim", "secret", "jim@example.org"); err != nil {
		log.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair("cert.pem", "key.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv := &imap.Server{
		Store:     store, // also the Authenticator: memstore implements it
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	log.Fatal(srv.ListenAndServe(":143"))
}

// Graceful shutdown: connections waiting for a command (or in IDLE) get
// "* BYE" at once; a command in progress finishes first.
func ExampleServer_Shutdown() {
	srv := &imap.Server{Store: memstore.New()}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Print("forced close: ", err)
		}
	}()
	if err := srv.ListenAndServe(":143"); err != imap.ErrServerClosed {
		log.Fatal(err)
	}
}
