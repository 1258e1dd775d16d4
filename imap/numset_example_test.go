package imap_test

import (
	"fmt"

	"github.com/posthorn/posthorn/imap"
)

func ExampleParseNumSet() {
	set, err := imap.ParseNumSet("7:*,2,4:3")
	if err != nil {
		panic(err)
	}
	// The mailbox holds 9 messages: "*" is 9.
	fmt.Println(set.Contains(8, 9), set.Contains(5, 9))
	fmt.Println(set.Normalize(9))
	fmt.Println(set.Count(9))
	// Output:
	// true false
	// 2:4,7:9
	// 6
}

func ExampleNumSet_All() {
	// However large the ranges, iteration is bounded by the mailbox.
	set, _ := imap.ParseNumSet("1:4294967295,1:*,2")
	for n := range set.All(3) {
		fmt.Println(n)
	}
	// Output:
	// 1
	// 2
	// 3
}
