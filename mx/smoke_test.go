package mx_test

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/mx/mxtest"
)

func TestSmoke(t *testing.T) {
	srv := mxtest.NewServer(t, `
example.com. 300 IN MX 10 mx1.example.com.
mx1.example.com. 300 IN A 192.0.2.1
mx1.example.com. 300 IN AAAA 2001:db8::1
`)
	res, err := srv.Resolver().Lookup(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
}
