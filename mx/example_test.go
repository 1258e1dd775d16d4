package mx_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
)

func ExampleResolver_Lookup() {
	// An in-process DNS server stands in for the Internet.
	srv, err := mxtest.Start(`
example.com.      300 IN MX   10 mail.example.com.
mail.example.com. 300 IN A    192.0.2.25
mail.example.com. 300 IN AAAA 2001:db8::25
nomail.example.   300 IN MX   0 .
`)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	r := &mx.Resolver{Servers: []string{srv.Addr()}}

	res, err := r.Lookup(context.Background(), "example.com")
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range res.Hosts {
		fmt.Println(h.Pref, h.Name, h.Addrs)
	}

	_, err = r.Lookup(context.Background(), "nomail.example")
	var e *mx.Error
	if errors.As(err, &e) && errors.Is(err, mx.ErrNullMX) {
		code, enhanced := e.Status()
		fmt.Println(code, enhanced, err)
	}
	// Output:
	// 10 mail.example.com [2001:db8::25 192.0.2.25]
	// 556 5.1.10 mx: lookup nomail.example: domain accepts no mail (null MX)
}
