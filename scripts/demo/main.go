// Command demo drives a running `make dev` stack the way the outside world would:
// an EHR booking an appointment (Standard Webhooks signed), the Graph API stand-in's
// recordings, and a patient tapping a button or writing (Meta-signed webhooks).
//
//	go run ./scripts/demo book -id demo-appt-1 -in 47h
//	go run ./scripts/demo sent
//	go run ./scripts/demo tap -id demo-appt-1 -button confirm
//	go run ./scripts/demo say -text "STOP"
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demo book|sent|tap|say [flags]")
		os.Exit(2)
	}
	d, err := newDemo(os.LookupEnv)
	if err == nil {
		err = d.run(os.Args[1], os.Args[2:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
